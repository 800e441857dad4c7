// Pipes: one pipe per (sender, receiver) pair, created by the runner before the parties
// start; a receiver with several senders polls their pipes. A pipe is a byte stream, so
// each message goes as a 4-byte length and the payload in one write, and receivers read
// in large blocks and split them. Pipes are resized to 1 MiB (the default pipe-max-size),
// what a user after throughput would do. Broadcast: one write per receiver.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../fd_io.hpp"
#include "../loops.hpp"
#include "../system.hpp"

namespace bench {
namespace {

constexpr int pipe_bytes = 1 << 20;

struct pipe_tx {
  std::vector<int> fds;  // one per receiver
  std::vector<std::byte> buf;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    std::memcpy(buf.data(), &size, 4);
    coipc_payload::stamp(buf.data() + 4, size, sender, seq);
    for (int fd : fds) write_all(fd, buf.data(), size + 4);
  }
};

/// One incoming pipe: a block buffer and the bytes not yet split into messages.
struct stream_in {
  int fd;
  std::vector<std::byte> buf;
  std::size_t begin = 0, end = 0;

  template <class F>
  std::size_t split(F& on_message) {
    std::size_t n = 0;
    for (;;) {
      const std::size_t avail = end - begin;
      if (avail < 4) break;
      std::uint32_t len;
      std::memcpy(&len, buf.data() + begin, 4);
      if (len > buf.size() / 2) throw std::runtime_error("pipe: corrupt length prefix");
      if (avail < 4 + std::size_t{len}) break;
      on_message(buf.data() + begin + 4, len);
      begin += 4 + std::size_t{len};
      ++n;
    }
    if (begin == end) begin = end = 0;
    return n;
  }
  /// Reads what is there (blocking unless the fd is non-blocking). False: nothing now.
  bool fill() {
    if (buf.size() - end < buf.size() / 2) {  // keep room for a whole message after the rest
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    for (;;) {
      const ssize_t r = ::read(fd, buf.data() + end, buf.size() - end);
      if (r > 0) {
        end += static_cast<std::size_t>(r);
        return true;
      }
      if (r == 0) throw std::runtime_error("pipe: closed by the writer");
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return false;
      throw_errno("read");
    }
  }
};

struct pipe_rx {
  std::vector<stream_in> ins;  // one per sender
  std::vector<pollfd> pfds;
  std::vector<std::size_t> ready;

  template <class F>
  std::size_t buffered(F& on_message) {
    std::size_t n = 0;
    for (auto& in : ins) n += in.split(on_message);
    return n;
  }
  template <class F>
  std::size_t recv(F&& on_message) {
    for (;;) {
      if (std::size_t n = buffered(on_message)) return n;
      if (ins.size() == 1) {
        ins[0].fill();
        continue;
      }
      wait_readable(pfds, ready);
      for (std::size_t i : ready) ins[i].fill();
    }
  }
  template <class F>
  std::size_t try_recv(F&& on_message) {
    if (std::size_t n = buffered(on_message)) return n;
    for (auto& in : ins) in.fill();
    return buffered(on_message);
  }
};

class pipe_system final : public ipc_system {
 public:
  std::string_view name() const override { return "pipe"; }

  void setup(const case_spec& spec, const std::string&) override {
    spec_ = spec;
    for (int l = 0; l < link_count(spec); ++l) {
      auto& link = links_[l];
      link.assign(link_senders(spec, l), std::vector<std::array<int, 2>>(link_receivers(spec, l)));
      for (auto& row : link)
        for (auto& p : row) {
          if (pipe2(p.data(), O_CLOEXEC) < 0) throw_errno("pipe2");
          fcntl(p[1], F_SETPIPE_SZ, pipe_bytes);  // best effort: a smaller pipe still works
        }
    }
  }

  void run(party& p) override {
    const std::size_t block = std::max<std::size_t>(256 << 10, 2 * (std::size_t{spec_.size_max} + 4));
    run_roles(
        p,
        [&](int l, std::uint32_t s) {
          pipe_tx tx{{}, payload_buffer(spec_.size_max + 4)};
          for (auto& p2 : links_[l][s]) tx.fds.push_back(p2[1]);
          return tx;
        },
        [&](int l, std::uint32_t r) {
          pipe_rx rx;
          for (auto& row : links_[l]) {
            const int fd = row[r][0];
            if (spinning(spec_)) set_nonblocking(fd, true);
            rx.ins.push_back(stream_in{fd, std::vector<std::byte>(block), 0, 0});
            rx.pfds.push_back(pollfd{fd, POLLIN, 0});
          }
          return rx;
        });
  }

  void cleanup(const case_spec&, const std::string&) noexcept override {}

 private:
  bool native_broadcast() const override { return false; }  // a pipe per receiver
  support check_case(const case_spec& spec) const override {
    if (spec.api == api_kind::coroutine) return {false, "no coroutine API"};
    if (spec.size_max > (256u << 20)) return {false, "message over 256 MiB"};
    return {true, {}};
  }

  case_spec spec_;
  std::vector<std::vector<std::array<int, 2>>> links_[2];  // [link][sender][receiver] = pipe
};

}  // namespace

std::unique_ptr<ipc_system> make_pipe() { return std::make_unique<pipe_system>(); }

}  // namespace bench
