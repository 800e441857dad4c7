export module greeting:part;
export constexpr const char* prefix() { return "hello, "; }
