// Built (not run): the umbrella header, and so every public header, compiles
// on its own with only the dynalock dependency (no Beast, OpenSSL or nlohmann
// include paths needed).
#include <dynalock/dynalock.hpp>

int main() { return 0; }
