#include "fd_io.hpp"

#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace bench {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void write_all(int fd, const std::byte* p, std::size_t n) {
  while (n) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("write");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void wait_readable(std::span<pollfd> fds, std::vector<std::size_t>& ready) {
  ready.clear();
  for (;;) {
    const int r = ::poll(fds.data(), fds.size(), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ready.push_back(i);
    if (!ready.empty()) return;
  }
}

void set_nonblocking(int fd, bool on) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0) throw_errno("fcntl");
}

std::vector<std::byte> payload_buffer(std::size_t size) { return std::vector<std::byte>(size, std::byte{0x5a}); }

long read_long(const char* path) {
  long v = -1;
  if (std::FILE* f = std::fopen(path, "r")) {
    if (std::fscanf(f, "%ld", &v) != 1) v = -1;
    std::fclose(f);
  }
  return v;
}

}  // namespace bench
