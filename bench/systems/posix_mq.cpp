// POSIX message queues: one queue per receiver, which every sender writes to (so
// broadcast is one send per receiver). Depth 256 (at most 32 MiB of messages per queue).
// The kernel caps depth and message size with fs.mqueue.msg_max and msgsize_max (10 and
// 8 KiB by default) and the bytes with RLIMIT_MSGQUEUE: as root the benchmark raises them
// for its run and restores the sysctls afterwards, and says so; otherwise it uses what is
// allowed and says that.
#include <fcntl.h>
#include <fmt/format.h>
#include <mqueue.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "../fd_io.hpp"
#include "../loops.hpp"
#include "../system.hpp"

namespace bench {
namespace {

constexpr const char* msg_max_path = "/proc/sys/fs/mqueue/msg_max";
constexpr const char* msgsize_max_path = "/proc/sys/fs/mqueue/msgsize_max";
constexpr long wanted_depth = 256;
constexpr long wanted_msgsize = 16l << 20;  // the kernel's hard limit (HARD_MSGSIZEMAX)


bool write_long(const char* path, long v) {
  std::FILE* f = std::fopen(path, "w");
  if (!f) return false;
  const bool ok = std::fprintf(f, "%ld\n", v) > 0;
  return std::fclose(f) == 0 && ok;
}

struct mq_tx {
  std::vector<mqd_t> queues;  // one per receiver
  std::vector<std::byte> buf;
  void send(std::uint32_t size, std::uint32_t sender, std::uint64_t seq) {
    coipc_payload::stamp(buf.data(), size, sender, seq);
    for (mqd_t q : queues)
      while (mq_send(q, reinterpret_cast<const char*>(buf.data()), size, 0) < 0)
        if (errno != EINTR) throw_errno("mq_send");
  }
  ~mq_tx() {
    for (mqd_t q : queues) mq_close(q);
  }
  mq_tx(std::vector<mqd_t> q, std::vector<std::byte> b) : queues(std::move(q)), buf(std::move(b)) {}
  mq_tx(mq_tx&& o) noexcept : queues(std::exchange(o.queues, {})), buf(std::move(o.buf)) {}
};

struct mq_rx {
  mqd_t q;
  std::vector<std::byte> buf;
  template <class F>
  std::size_t recv(F&& on_message) {
    for (;;) {
      const ssize_t n = mq_receive(q, reinterpret_cast<char*>(buf.data()), buf.size(), nullptr);
      if (n >= 0) {
        on_message(buf.data(), static_cast<std::size_t>(n));
        return 1;
      }
      if (errno == EAGAIN) return 0;  // non-blocking queue (spinning)
      if (errno != EINTR) throw_errno("mq_receive");
    }
  }
  template <class F>
  std::size_t try_recv(F&& on_message) {
    return recv(on_message);
  }
  ~mq_rx() {
    if (q != mqd_t(-1)) mq_close(q);
  }
  mq_rx(mqd_t d, std::vector<std::byte> b) : q(d), buf(std::move(b)) {}
  mq_rx(mq_rx&& o) noexcept : q(std::exchange(o.q, mqd_t(-1))), buf(std::move(o.buf)) {}
};

class posix_mq_system final : public ipc_system {
 public:
  std::string_view name() const override { return "posix_mq"; }

  std::vector<std::string> prepare() override {
    std::vector<std::string> notes;
    old_depth_ = read_long(msg_max_path);
    old_msgsize_ = read_long(msgsize_max_path);
    depth_ = old_depth_;
    msgsize_ = old_msgsize_;
    if (geteuid() == 0) {
      if (old_depth_ < wanted_depth && write_long(msg_max_path, wanted_depth)) depth_ = wanted_depth;
      if (old_msgsize_ < wanted_msgsize && write_long(msgsize_max_path, wanted_msgsize)) msgsize_ = wanted_msgsize;
      if (depth_ != old_depth_ || msgsize_ != old_msgsize_)
        notes.push_back(fmt::format("running as root: raised fs.mqueue.msg_max {} -> {} and msgsize_max {} -> {} "
                                    "for this run (restored at the end)",
                                    old_depth_, depth_, old_msgsize_, msgsize_));
      // The queues' bytes count against RLIMIT_MSGQUEUE (800 KiB by default).
      const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
      if (setrlimit(RLIMIT_MSGQUEUE, &unlimited) == 0) notes.push_back("raised RLIMIT_MSGQUEUE to unlimited");
    }
    rlimit lim{};
    getrlimit(RLIMIT_MSGQUEUE, &lim);
    budget_ = lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long>(lim.rlim_cur);
    if (budget_ >= 0)
      notes.push_back(fmt::format("RLIMIT_MSGQUEUE is {} B (cannot raise it here): queues are made shallower to fit "
                                  "(the depth is in each row's note)",
                                  budget_));
    if (geteuid() != 0) {
      notes.push_back(fmt::format("not root: queue depth at most fs.mqueue.msg_max = {}, messages at most "
                                  "msgsize_max = {} B",
                                  depth_, msgsize_));
    }
    return notes;
  }

  void finish() noexcept override {
    if (depth_ != old_depth_) write_long(msg_max_path, old_depth_);
    if (msgsize_ != old_msgsize_) write_long(msgsize_max_path, old_msgsize_);
  }

  void setup(const case_spec& spec, const std::string& prefix) override {
    spec_ = spec;
    prefix_ = prefix;
    mq_attr attr{};
    attr.mq_maxmsg = depth(spec);
    attr.mq_msgsize = spec.size_max;
    for (int l = 0; l < link_count(spec); ++l)
      for (std::uint32_t r = 0; r < link_receivers(spec, l); ++r) {
        const mqd_t q = mq_open(queue_name(l, r).c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
        if (q == mqd_t(-1)) throw_errno("mq_open (create)");
        mq_close(q);
      }
  }

  void run(party& p) override {
    run_roles(
        p,
        [&](int l, std::uint32_t) {
          std::vector<mqd_t> qs;
          for (std::uint32_t r = 0; r < link_receivers(spec_, l); ++r) qs.push_back(open(l, r, O_WRONLY));
          return mq_tx(std::move(qs), payload_buffer(spec_.size_max));
        },
        [&](int l, std::uint32_t r) {
          return mq_rx(open(l, r, O_RDONLY | (spinning(spec_) ? O_NONBLOCK : 0)), payload_buffer(spec_.size_max));
        });
  }

  void cleanup(const case_spec& spec, const std::string& prefix) noexcept override {
    prefix_ = prefix;
    for (int l = 0; l < link_count(spec); ++l)
      for (std::uint32_t r = 0; r < link_receivers(spec, l); ++r) mq_unlink(queue_name(l, r).c_str());
  }

 private:
  bool native_broadcast() const override { return false; }  // a queue per receiver
  support check_case(const case_spec& spec) const override {
    if (spec.api == api_kind::coroutine) return {false, "no coroutine API"};
    if (static_cast<long>(spec.size_max) > msgsize_)
      return {false, fmt::format("message over fs.mqueue.msgsize_max = {} B", msgsize_)};
    if (depth(spec) < 1) return {false, fmt::format("one message per queue is over RLIMIT_MSGQUEUE = {} B", budget_)};
    return {true, fmt::format("depth {}", depth(spec))};
  }

  /// 256 (or fewer for large messages, see queue_depth), within msg_max, and such that
  /// the case's queues fit in RLIMIT_MSGQUEUE: the kernel charges each queue its messages
  /// plus about 90 bytes of bookkeeping per message.
  long depth(const case_spec& spec) const {
    long d = std::min<long>(queue_depth(spec.size_max), depth_);
    if (budget_ >= 0) {
      const long queues = spec.pattern == pattern::pingpong ? 2 : static_cast<long>(spec.receivers);
      d = std::min(d, budget_ / queues / (static_cast<long>(spec.size_max) + 128));
    }
    return d;
  }
  std::string queue_name(int link, std::uint32_t r) const { return fmt::format("/{}-{}{}", prefix_, "ab"[link], r); }
  mqd_t open(int link, std::uint32_t r, int flags) const {
    const mqd_t q = mq_open(queue_name(link, r).c_str(), flags | O_CLOEXEC);
    if (q == mqd_t(-1)) throw_errno("mq_open");
    return q;
  }

  long old_depth_ = -1, old_msgsize_ = -1, depth_ = 10, msgsize_ = 8192;
  long budget_ = -1;  ///< RLIMIT_MSGQUEUE in bytes, -1: unlimited
  case_spec spec_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<ipc_system> make_posix_mq() { return std::make_unique<posix_mq_system>(); }

}  // namespace bench
