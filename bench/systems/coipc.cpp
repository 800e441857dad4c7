// coipc itself: route<bytes> for one sender, channel<bytes> for many, native broadcast.
// Zero copy both ways, as its users would write it: senders stamp a loaned frame in place
// (loan/commit), receivers check the frame where it lies (view).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "../loops.hpp"
#include "../system.hpp"
#include "coipc_coroutine.hpp"
#include "coipc_options.hpp"
import coipc;

namespace bench {
namespace {

template <class Ch>
struct coipc_tx {
  Ch ch;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    auto l = ch.loan(size);
    coipc_payload::stamp(l.data().data(), size, sender, seq);
    l.commit();
  }
  void report(party_slot& s) const {
    const auto st = ch.stats();
    s.has_futex = true;
    s.futex_waits += st.futex_waits;
    s.futex_wakes += st.futex_wakes;
  }
};

template <class Ch>
struct coipc_rx {
  Ch ch;
  template <class F>
  std::size_t recv(F&& on_message) {
    auto v = ch.view();
    const auto d = v.data();
    on_message(d.data(), d.size());
    return 1;
  }
  template <class F>
  std::size_t try_recv(F&& on_message) {
    std::error_code ec;
    auto v = ch.try_view(ec);
    if (!v) {
      if (ec && ec != coipc::errc::would_block) throw std::system_error(ec, coipc::last_error_message());
      return 0;
    }
    const auto d = v.data();
    on_message(d.data(), d.size());
    return 1;
  }
  void report(party_slot& s) const {
    const auto st = ch.stats();
    s.has_futex = true;
    s.futex_waits += st.futex_waits;
    s.futex_wakes += st.futex_wakes;
  }
};

class coipc_system final : public ipc_system {
 public:
  std::string_view name() const override { return "coipc"; }

  void setup(const case_spec& spec, const std::string& prefix) override {
    spec_ = spec;
    prefix_ = prefix;
  }

  void run(party& p) override {
    if (spec_.api == api_kind::coroutine) return run_coroutine(p, spec_, prefix_ + "-a", prefix_ + "-b");
    switch (p.role) {
      case party_role::sender:
        if (spec_.pattern == pattern::route) {
          coipc_tx<coipc::route<coipc::bytes>> tx{{name_a(), coipc::role::sender, coipc_options(spec_)}};
          p.slot().segment_bytes = segment_file_bytes(name_a());
          wait_receivers(tx.ch);
          sender_loop(p, tx);
        } else {
          coipc_tx<coipc::channel<coipc::bytes>> tx{{name_a(), coipc::role::sender, coipc_options(spec_)}};
          p.slot().segment_bytes = segment_file_bytes(name_a());
          wait_receivers(tx.ch);
          sender_loop(p, tx);
        }
        break;
      case party_role::receiver:
        if (spec_.pattern == pattern::route) {
          coipc_rx<coipc::route<coipc::bytes>> rx{{name_a(), coipc::role::receiver, coipc_options(spec_)}};
          p.slot().segment_bytes = segment_file_bytes(name_a());
          receiver_loop(p, rx);
        } else {
          coipc_rx<coipc::channel<coipc::bytes>> rx{{name_a(), coipc::role::receiver, coipc_options(spec_)}};
          p.slot().segment_bytes = segment_file_bytes(name_a());
          receiver_loop(p, rx);
        }
        break;
      case party_role::ping: {
        // Receive side first, so that each sender's wait_for_receivers can complete.
        coipc_rx<coipc::route<coipc::bytes>> rx{{name_b(), coipc::role::receiver, coipc_options(spec_)}};
        coipc_tx<coipc::route<coipc::bytes>> tx{{name_a(), coipc::role::sender, coipc_options(spec_)}};
        p.slot().segment_bytes = segment_file_bytes(name_a()) + segment_file_bytes(name_b());
        wait_receivers(tx.ch);
        ping_loop(p, tx, rx);
        break;
      }
      case party_role::pong: {
        coipc_rx<coipc::route<coipc::bytes>> rx{{name_a(), coipc::role::receiver, coipc_options(spec_)}};
        coipc_tx<coipc::route<coipc::bytes>> tx{{name_b(), coipc::role::sender, coipc_options(spec_)}};
        p.slot().segment_bytes = segment_file_bytes(name_a()) + segment_file_bytes(name_b());
        wait_receivers(tx.ch);
        pong_loop(p, rx, tx);
        break;
      }
    }
  }

  void cleanup(const case_spec& spec, const std::string& prefix) noexcept override {
    std::error_code ec;
    coipc::remove_segment(prefix + "-a", ec);
    if (spec.pattern == pattern::pingpong) coipc::remove_segment(prefix + "-b", ec);
  }

 private:
  bool native_broadcast() const override { return true; }
  support check_case(const case_spec& spec) const override {
    if (spec.api == api_kind::coroutine) return {true, "co_await recv/send (copies)"};
    return {true, "zero-copy (loan/view)"};
  }

  std::string name_a() const { return prefix_ + "-a"; }
  std::string name_b() const { return prefix_ + "-b"; }

  template <class Ch>
  void wait_receivers(Ch& ch) const {
    const std::uint32_t n = spec_.pattern == pattern::pingpong ? 1 : spec_.receivers;
    if (!ch.wait_for_receivers(n, std::chrono::seconds(30)))
      throw std::runtime_error("coipc: receivers did not connect within 30 s");
  }

  case_spec spec_;
  std::string prefix_;
};

}  // namespace

std::uint64_t segment_file_bytes(const std::string& name) {
  return file_bytes(("/dev/shm/" + coipc::object_name_of(name)).c_str());
}

std::unique_ptr<ipc_system> make_coipc() { return std::make_unique<coipc_system>(); }

}  // namespace bench
