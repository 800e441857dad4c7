#include <cstdio>
#include <string>
import greeting;
int main() { return greet() == "hello, modules" ? 0 : (std::puts("wrong greeting"), 1); }
