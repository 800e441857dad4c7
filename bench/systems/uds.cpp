// Unix domain sockets, SOCK_SEQPACKET (message boundaries kept, reliable, in order): one
// connected socket pair per (sender, receiver), made by the runner before the parties
// start; a receiver with several senders polls its sockets. Send buffers are sized for
// 256 messages (SO_SNDBUFFORCE as root, else capped by net.core.wmem_max), since a
// seqpacket message must fit in the buffer whole. Broadcast: one send per receiver.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "../fd_io.hpp"
#include "../loops.hpp"
#include "../system.hpp"

namespace bench {
namespace {

/// Per-message overhead the kernel charges to a unix socket's send buffer (sk_buff).
constexpr std::size_t skb_overhead = 1024;


struct uds_tx {
  std::vector<int> fds;
  std::vector<std::byte> buf;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    coipc_payload::stamp(buf.data(), size, sender, seq);
    for (int fd : fds) {
      while (::send(fd, buf.data(), size, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR) throw_errno("send");
      }
    }
  }
};

struct uds_rx {
  std::vector<pollfd> pfds;  // one per sender
  std::vector<std::byte> buf;
  std::vector<std::size_t> ready;

  /// One message from `fd`; 0 when none is there (non-blocking sockets or MSG_DONTWAIT).
  template <class F>
  std::size_t one(int fd, int flags, F& on_message) {
    for (;;) {
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), flags | MSG_TRUNC);
      if (n >= 0) {
        if (static_cast<std::size_t>(n) > buf.size()) throw std::runtime_error("uds: message larger than expected");
        on_message(buf.data(), static_cast<std::size_t>(n));
        return 1;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      throw_errno("recv");
    }
  }
  template <class F>
  std::size_t recv(F&& on_message) {
    if (pfds.size() == 1) return one(pfds[0].fd, 0, on_message);
    std::size_t n = 0;
    while (n == 0) {
      wait_readable(pfds, ready);
      // Drain each ready socket: one poll per batch, not per message.
      for (std::size_t i : ready)
        while (one(pfds[i].fd, MSG_DONTWAIT, on_message)) ++n;
    }
    return n;
  }
  template <class F>
  std::size_t try_recv(F&& on_message) {
    std::size_t n = 0;
    for (auto& p : pfds) n += one(p.fd, MSG_DONTWAIT, on_message);
    return n;
  }
};

class uds_system final : public ipc_system {
 public:
  std::string_view name() const override { return "uds"; }

  std::vector<std::string> prepare() override {
    root_ = geteuid() == 0;
    wmem_max_ = read_long("/proc/sys/net/core/wmem_max");
    if (!root_) return {fmt::format("not root: send buffers capped at net.core.wmem_max = {}", wmem_max_)};
    return {};
  }

  void setup(const case_spec& spec, const std::string&) override {
    spec_ = spec;
    // Room for 256 messages (at most 32 MiB), and always for one whole message.
    const std::size_t per = std::size_t{spec.size_max} + skb_overhead;
    int sndbuf = static_cast<int>(std::max(per * 2, std::min<std::size_t>(per * 256, 32u << 20)));
    if (!root_ && wmem_max_ > 0) sndbuf = std::min<int>(sndbuf, static_cast<int>(wmem_max_));
    for (int l = 0; l < link_count(spec); ++l) {
      auto& link = links_[l];
      link.assign(link_senders(spec, l), std::vector<std::array<int, 2>>(link_receivers(spec, l)));
      for (auto& row : link)
        for (auto& p : row) {
          if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p.data()) < 0) throw_errno("socketpair");
          // The kernel doubles the value it is given (room for its bookkeeping): ask for half.
          const int opt = root_ ? SO_SNDBUFFORCE : SO_SNDBUF;
          const int v = sndbuf / 2;
          if (setsockopt(p[0], SOL_SOCKET, opt, &v, sizeof v) < 0) throw_errno("setsockopt SO_SNDBUF");
        }
    }
  }

  void run(party& p) override {
    run_roles(
        p,
        [&](int l, std::uint32_t s) {
          uds_tx tx{{}, payload_buffer(spec_.size_max)};
          for (auto& pair : links_[l][s]) tx.fds.push_back(pair[0]);
          return tx;
        },
        [&](int l, std::uint32_t r) {
          uds_rx rx{{}, payload_buffer(spec_.size_max), {}};
          for (auto& row : links_[l]) {
            if (spinning(spec_)) set_nonblocking(row[r][1], true);
            rx.pfds.push_back(pollfd{row[r][1], POLLIN, 0});
          }
          return rx;
        });
  }

  void cleanup(const case_spec&, const std::string&) noexcept override {}

 private:
  bool native_broadcast() const override { return false; }  // a socket pair per receiver
  support check_case(const case_spec& spec) const override {
    if (spec.api == api_kind::coroutine) return {false, "no coroutine API"};
    const std::size_t need = spec.size_max + skb_overhead;
    if (!root_ && wmem_max_ > 0 && need > static_cast<std::size_t>(wmem_max_))
      return {false, fmt::format("message over the socket buffer limit net.core.wmem_max = {}", wmem_max_)};
    if (spec.size_max > (64u << 20)) return {false, "message over 64 MiB"};
    return {true, {}};
  }

  bool root_ = false;
  long wmem_max_ = -1;
  case_spec spec_;
  std::vector<std::vector<std::array<int, 2>>> links_[2];  // [link][sender][receiver] = socket pair
};

}  // namespace

std::unique_ptr<ipc_system> make_uds() { return std::make_unique<uds_system>(); }

}  // namespace bench
