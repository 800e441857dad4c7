// Fuzz target: opening a segment file. The input is the whole file found at a channel's
// name (a header and a body, hostile). Opening it (as a typed route, as a bytes channel, and
// for inspection) must fail with an error or succeed, never crash or read past the file.
// Half of the inputs get a header whose checksum is made valid, so that the checks behind
// the checksum (sizes, geometry, version) are reached too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

import coipc;

namespace {
struct sample {
  double value;
  std::uint64_t stamp;
};

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return;
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n <= 0) break;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  ::close(fd);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string name = "fuzz.open." + std::to_string(::getpid());
  if (size < 1) return 0;
  const bool fix_checksum = data[0] & 1;
  std::vector<std::uint8_t> file(data + 1, data + size);
  if (fix_checksum && file.size() >= sizeof(coipc::segment_header)) {
    coipc::segment_header h;
    std::memcpy(&h, file.data(), sizeof h);
    h.magic = coipc::segment_header::expected_magic;
    h.layout_version = coipc::layout_version;
    h.checksum = coipc::detail::fnv1a(
        std::string_view(reinterpret_cast<const char*>(&h), offsetof(coipc::segment_header, checksum)));
    std::memcpy(file.data(), &h, sizeof h);
  }
  write_file("/dev/shm/coipc." + name, file.data(), file.size());
  std::error_code ec;
  {
    auto seg = coipc::segment::inspect(name, ec);
    if (!ec) {
      // What inspection accepted is mapped whole: touch every byte of it.
      volatile std::uint8_t sink = 0;
      for (std::byte b : seg.body()) sink = sink ^ static_cast<std::uint8_t>(b);
    }
  }
  coipc::channel_options o;
  o.mode = coipc::open_mode::open_only;
  o.capacity = 4096;
  o.max_message_size = 1024;
  o.max_receivers = 4;
  o.max_senders = 2;
  {
    coipc::route<sample> rx(name, coipc::role::receiver, o, ec);
    if (!ec) rx.try_recv(ec);
  }
  {
    coipc::channel<coipc::bytes> rx(name, coipc::role::receiver, o, ec);
    if (!ec) rx.try_recv(ec);
  }
  coipc::remove_segment(name, ec);
  return 0;
}
