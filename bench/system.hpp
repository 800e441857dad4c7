// The common face of every system under test (coipc and its peers). Each lives in its own
// translation unit under systems/, so that Boost, ZeroMQ and iceoryx headers never meet
// the coipc module in one file.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"
#include "spec.hpp"

namespace bench {

/// Whether a system can run a case, and how: a note such as "depth 256" (ok) or the reason
/// it cannot (n/a).
struct support {
  bool ok = true;
  std::string note;
};

class ipc_system {
 public:
  virtual ~ipc_system() = default;
  virtual std::string_view name() const = 0;
  /// Whether it runs `spec`, and how. A system without native broadcast sends each message
  /// once per receiver, which costs it per receiver: every row with more than one receiver
  /// says so, in these words for every such system (system.cpp).
  support check(const case_spec& spec) const;
  /// In the main process, once, before any case of this system (start a daemon, raise a
  /// limit). Returns remarks for the output, e.g. that a sysctl was raised.
  virtual std::vector<std::string> prepare() { return {}; }
  /// In the main process, once, after the last case (stop the daemon, restore limits).
  virtual void finish() noexcept {}
  /// In the case's runner process before any party starts: what the parties share that
  /// must exist first (queues, pipes, socket pairs). `prefix` is unique to the case.
  virtual void setup(const case_spec& spec, const std::string& prefix) = 0;
  /// Once in each process that hosts parties, before they start (a party's own process in
  /// process mode, the runner in thread mode).
  virtual void process_init(const std::string& /*prefix*/) {}
  /// One party's whole life: open its endpoints, run its loop (loops.hpp), close.
  virtual void run(party& p) = 0;
  /// In the main process after the case, whatever became of it (even killed on a
  /// timeout): remove every named resource the case may have left.
  virtual void cleanup(const case_spec& spec, const std::string& prefix) noexcept = 0;

 private:
  /// Whether one send reaches every receiver (coipc, ZeroMQ, iceoryx); else its senders
  /// send once per receiver.
  virtual bool native_broadcast() const = 0;
  /// The system's own answer to check(): what it cannot run, its own remarks (a depth).
  virtual support check_case(const case_spec& spec) const = 0;
};

std::unique_ptr<ipc_system> make_coipc();
std::unique_ptr<ipc_system> make_posix_mq();
std::unique_ptr<ipc_system> make_uds();
std::unique_ptr<ipc_system> make_pipe();
// The optional peers: defined only where built (registry.cpp, COIPC_BENCH_HAVE_*).
std::unique_ptr<ipc_system> make_boost_mq();
std::unique_ptr<ipc_system> make_zmq();
std::unique_ptr<ipc_system> make_iceoryx();

/// Queue depth used by the queue-based peers: 256 messages, but at most 32 MiB of buffered
/// payload per queue (1 MiB messages: 32), so large-message cases stay within memory.
std::uint32_t queue_depth(std::uint32_t size_max);

}  // namespace bench
