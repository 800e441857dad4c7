// Boost.Interprocess message_queue: one queue per receiver in shared memory (mutex and
// condition variables shared between processes), which every sender writes to, so
// broadcast is one send per receiver. Depth 256 (at most 32 MiB of messages per queue).
#include <fmt/format.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../fd_io.hpp"
#include "../loops.hpp"
#include "../system.hpp"

namespace bench {
namespace {

namespace bip = boost::interprocess;

struct boost_tx {
  std::vector<std::unique_ptr<bip::message_queue>> queues;  // one per receiver
  std::vector<std::byte> buf;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    coipc_payload::stamp(buf.data(), size, sender, seq);
    for (auto& q : queues) q->send(buf.data(), size, 0);
  }
};

struct boost_rx {
  std::unique_ptr<bip::message_queue> q;
  std::vector<std::byte> buf;
  template <class F>
  std::size_t recv(F&& on_message) {
    bip::message_queue::size_type n = 0;
    unsigned prio = 0;
    q->receive(buf.data(), buf.size(), n, prio);
    on_message(buf.data(), static_cast<std::size_t>(n));
    return 1;
  }
  template <class F>
  std::size_t try_recv(F&& on_message) {
    bip::message_queue::size_type n = 0;
    unsigned prio = 0;
    if (!q->try_receive(buf.data(), buf.size(), n, prio)) return 0;
    on_message(buf.data(), static_cast<std::size_t>(n));
    return 1;
  }
};

class boost_mq_system final : public ipc_system {
 public:
  std::string_view name() const override { return "boost_mq"; }

  void setup(const case_spec& spec, const std::string& prefix) override {
    spec_ = spec;
    prefix_ = prefix;
    for (int l = 0; l < link_count(spec); ++l)
      for (std::uint32_t r = 0; r < link_receivers(spec, l); ++r)
        bip::message_queue(bip::create_only, queue_name(l, r).c_str(), queue_depth(spec.size_max), spec.size_max);
  }

  void run(party& p) override {
    run_roles(
        p,
        [&](int l, std::uint32_t) {
          boost_tx tx{{}, payload_buffer(spec_.size_max)};
          for (std::uint32_t r = 0; r < link_receivers(spec_, l); ++r)
            tx.queues.push_back(std::make_unique<bip::message_queue>(bip::open_only, queue_name(l, r).c_str()));
          return tx;
        },
        [&](int l, std::uint32_t r) {
          return boost_rx{std::make_unique<bip::message_queue>(bip::open_only, queue_name(l, r).c_str()),
                          payload_buffer(spec_.size_max)};
        });
  }

  void cleanup(const case_spec& spec, const std::string& prefix) noexcept override {
    prefix_ = prefix;
    for (int l = 0; l < link_count(spec); ++l)
      for (std::uint32_t r = 0; r < link_receivers(spec, l); ++r) bip::message_queue::remove(queue_name(l, r).c_str());
  }

 private:
  bool native_broadcast() const override { return false; }  // a queue per receiver
  support check_case(const case_spec& spec) const override {
    if (spec.api == api_kind::coroutine) return {false, "no coroutine API"};
    return {true, fmt::format("depth {}", queue_depth(spec.size_max))};
  }

  std::string queue_name(int link, std::uint32_t r) const { return fmt::format("{}-{}{}", prefix_, "ab"[link], r); }
  case_spec spec_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<ipc_system> make_boost_mq() { return std::make_unique<boost_mq_system>(); }

}  // namespace bench
