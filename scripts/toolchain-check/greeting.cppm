module;
#include <string>
export module greeting;
export import :part;
export std::string greet() { return std::string(prefix()) + "modules"; }
