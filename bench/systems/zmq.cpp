// ZeroMQ over ipc://: each sender binds an XPUB socket, each receiver's SUB socket
// connects to every sender, so broadcast is native. The high-water marks are raised to
// 256 messages (at most 32 MiB per pipe), and ZMQ_XPUB_NODROP makes a full pipe block the
// sender instead of dropping, as the block policy does. Before the start each sender waits
// until every receiver's subscription has arrived (ZMQ_XPUB_VERBOSE passes each one), so
// no message goes to a subscriber that is not there yet. Each party has its own context
// (made after fork: a context must not cross one).
#include <fmt/format.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../fd_io.hpp"
#include "../loops.hpp"
#include "../system.hpp"

namespace bench {
namespace {

[[noreturn]] void throw_zmq(const char* what) {
  throw std::runtime_error(fmt::format("zmq: {}: {}", what, zmq_strerror(zmq_errno())));
}

void set_int(void* s, int opt, int v, const char* what) {
  if (zmq_setsockopt(s, opt, &v, sizeof v) != 0) throw_zmq(what);
}

/// A context and one socket; closing without linger once the case is over (every message
/// was received by then, see party::finish).
struct zsock {
  void* ctx = nullptr;
  void* sock = nullptr;
  explicit zsock(int type) : ctx(zmq_ctx_new()) {
    if (!ctx) throw_zmq("zmq_ctx_new");
    sock = zmq_socket(ctx, type);
    if (!sock) throw_zmq("zmq_socket");
  }
  zsock(zsock&& o) noexcept : ctx(std::exchange(o.ctx, nullptr)), sock(std::exchange(o.sock, nullptr)) {}
  ~zsock() {
    if (sock) {
      set_linger0();
      zmq_close(sock);
    }
    if (ctx) zmq_ctx_term(ctx);
  }
  void set_linger0() noexcept {
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
  }
};

struct zmq_tx {
  zsock s;
  std::vector<std::byte> buf;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    coipc_payload::stamp(buf.data(), size, sender, seq);
    while (zmq_send(s.sock, buf.data(), size, 0) < 0)
      if (zmq_errno() != EINTR) throw_zmq("zmq_send");
  }
};

struct zmq_rx {
  zsock s;
  zmq_msg_t msg;
  explicit zmq_rx(zsock sock) : s(std::move(sock)) { zmq_msg_init(&msg); }
  zmq_rx(zmq_rx&& o) noexcept : s(std::move(o.s)) { zmq_msg_init(&msg); }
  ~zmq_rx() { zmq_msg_close(&msg); }

  template <class F>
  std::size_t take(int flags, F& on_message) {
    for (;;) {
      const int n = zmq_msg_recv(&msg, s.sock, flags);
      if (n >= 0) {
        on_message(static_cast<const std::byte*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
        return 1;
      }
      if (zmq_errno() == EAGAIN) return 0;
      if (zmq_errno() != EINTR) throw_zmq("zmq_msg_recv");
    }
  }
  template <class F>
  std::size_t recv(F&& on_message) {
    return take(0, on_message);
  }
  template <class F>
  std::size_t try_recv(F&& on_message) {
    return take(ZMQ_DONTWAIT, on_message);
  }
};

class zmq_system final : public ipc_system {
 public:
  std::string_view name() const override { return "zmq"; }

  void setup(const case_spec& spec, const std::string& prefix) override {
    spec_ = spec;
    prefix_ = prefix;
  }

  void run(party& p) override {
    const int hwm = static_cast<int>(queue_depth(spec_.size_max));
    run_roles(
        p,
        [&](int l, std::uint32_t s) {
          zmq_tx tx{zsock(ZMQ_XPUB), payload_buffer(spec_.size_max)};
          set_int(tx.s.sock, ZMQ_SNDHWM, hwm, "ZMQ_SNDHWM");
          set_int(tx.s.sock, ZMQ_XPUB_NODROP, 1, "ZMQ_XPUB_NODROP");
          set_int(tx.s.sock, ZMQ_XPUB_VERBOSE, 1, "ZMQ_XPUB_VERBOSE");
          if (zmq_bind(tx.s.sock, endpoint(l, s).c_str()) != 0) throw_zmq("zmq_bind");
          // Every receiver's subscription, before the first message.
          char sub[256];
          for (std::uint32_t n = 0; n < link_receivers(spec_, l);) {
            const int r = zmq_recv(tx.s.sock, sub, sizeof sub, 0);
            if (r < 0 && zmq_errno() != EINTR) throw_zmq("zmq_recv (subscription)");
            if (r >= 1 && sub[0] == 1) ++n;
          }
          return tx;
        },
        [&](int l, std::uint32_t) {
          zmq_rx rx{zsock(ZMQ_SUB)};
          set_int(rx.s.sock, ZMQ_RCVHWM, hwm, "ZMQ_RCVHWM");
          set_int(rx.s.sock, ZMQ_RECONNECT_IVL, 5, "ZMQ_RECONNECT_IVL");  // senders bind a moment later
          if (zmq_setsockopt(rx.s.sock, ZMQ_SUBSCRIBE, "", 0) != 0) throw_zmq("ZMQ_SUBSCRIBE");
          for (std::uint32_t s = 0; s < link_senders(spec_, l); ++s)
            if (zmq_connect(rx.s.sock, endpoint(l, s).c_str()) != 0) throw_zmq("zmq_connect");
          return rx;
        });
  }

  void cleanup(const case_spec& spec, const std::string& prefix) noexcept override {
    prefix_ = prefix;
    for (int l = 0; l < link_count(spec); ++l)
      for (std::uint32_t s = 0; s < link_senders(spec, l); ++s) unlink(path(l, s).c_str());
  }

 private:
  bool native_broadcast() const override { return true; }  // XPUB to every subscriber
  support check_case(const case_spec& spec) const override {
    if (spec.api == api_kind::coroutine) return {false, "no coroutine API"};
    return {true, fmt::format("hwm {}", queue_depth(spec.size_max))};
  }

  std::string path(int link, std::uint32_t s) const { return fmt::format("/tmp/{}-{}{}.zmq", prefix_, "ab"[link], s); }
  std::string endpoint(int link, std::uint32_t s) const { return "ipc://" + path(link, s); }

  case_spec spec_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<ipc_system> make_zmq() { return std::make_unique<zmq_system>(); }

}  // namespace bench
