#!/usr/bin/env python3
"""What doxygen 1.9 lets pass undocumented in the public headers, from its XML.

Doxygen warns about an undocumented class, member or namespace member, but
not about an undocumented enumerator of a documented enum, nor about anything
in a header without a `/// \\file` comment (its macros are then not checked at
all). This lists both, so that tools/docs.sh fails on them as on a warning.

usage: reference_check.py XML_DIR
"""

import glob
import os
import sys
import xml.etree.ElementTree as ET


def described(element):
    """True when the element has a brief or detailed description."""
    return any(''.join(element.find(tag).itertext()).strip()
               for tag in ('briefdescription', 'detaileddescription')
               if element.find(tag) is not None)


def main():
    xml_dir = sys.argv[1]
    problems = []
    for path in sorted(glob.glob(os.path.join(xml_dir, '*.xml'))):
        if os.path.basename(path) == 'index.xml':
            continue
        for compound in ET.parse(path).getroot().iter('compounddef'):
            name = compound.findtext('compoundname')
            location = compound.find('location')
            where = location.get('file') if location is not None else path
            if compound.get('kind') == 'file' and not described(compound):
                problems.append(f'{where}: header {name} has no /// \\file comment')
            for member in compound.iter('memberdef'):
                for value in member.iter('enumvalue'):
                    if not described(value):
                        at = member.find('location')
                        problems.append(f'{at.get("file")}:{at.get("line")}: enumerator '
                                        f'{value.findtext("name")} of {member.findtext("name")}'
                                        ' is not documented')
    # An enum is listed in its namespace and in its file.
    for problem in sorted(set(problems)):
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
