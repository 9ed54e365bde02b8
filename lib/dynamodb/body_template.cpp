#include "dynamodb/body_template.hpp"

#include "dynamodb/json_writer.hpp"

#include <algorithm>
#include <cassert>

namespace dynalock::dynamodb {

std::optional<body_template> body_template::split(std::string_view body,
                                                  std::span<const std::string_view> markers) {
    struct found {
        std::size_t at;
        std::size_t length;
        std::size_t marker;
    };
    std::vector<found> places;
    for (std::size_t i = 0; i < markers.size(); ++i) {
        std::string quoted;
        append_json_string(quoted, markers[i]);
        const std::size_t at = body.find(quoted);
        if (at == std::string_view::npos || body.find(quoted, at + 1) != std::string_view::npos) {
            return std::nullopt;
        }
        places.push_back({at, quoted.size(), i});
    }
    std::sort(places.begin(), places.end(),
              [](const found& a, const found& b) { return a.at < b.at; });
    body_template t;
    std::size_t from = 0;
    for (const found& f : places) {
        if (f.at < from) {
            return std::nullopt;  // markers that overlap
        }
        t.text_.append(body.substr(from, f.at - from));
        t.holes_.push_back({t.text_.size(), f.marker});
        from = f.at + f.length;
    }
    t.text_.append(body.substr(from));
    return t;
}

void body_template::fill(std::span<const std::string_view> values, std::string& body) const {
    assert(values.size() == holes_.size());
    body.clear();
    std::size_t from = 0;
    for (const hole& h : holes_) {
        body.append(text_, from, h.at - from);
        append_json_string(body, values[h.value]);
        from = h.at;
    }
    body.append(text_, from);
}

}  // namespace dynalock::dynamodb
