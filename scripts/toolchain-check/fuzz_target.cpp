// Built with the fuzz preset's flags: proves that libFuzzer's runtime links and runs.
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return size > 0 && data[0] == 0xff ? 0 : 0;
}
