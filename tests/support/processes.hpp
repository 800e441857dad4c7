// Test support: real child processes (fork + exec of the test binary itself) and unique
// names. Header-only and free of coipc types, so that test files can include it before
// `import coipc;`.
//
// A child is a function registered with COIPC_CHILD(name); the parent starts it with
// spawn("name", {args...}), which execs this same binary as `<exe> --coipc-child name
// args...`. The custom main (main.cpp) dispatches that to the function; its return value
// is the child's exit status.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace coipc_test {

using child_fn = std::function<int(const std::vector<std::string>& args)>;

inline std::map<std::string, child_fn>& child_registry() {
  static std::map<std::string, child_fn> registry;
  return registry;
}

struct child_registrar {
  child_registrar(const char* name, child_fn fn) { child_registry().emplace(name, std::move(fn)); }
};

#define COIPC_CHILD_CAT2(a, b) a##b
#define COIPC_CHILD_CAT(a, b) COIPC_CHILD_CAT2(a, b)
/// Defines a child process entry point: COIPC_CHILD(name) { ...; return exit_status; }
/// The body sees `const std::vector<std::string>& args`.
#define COIPC_CHILD(name)                                                                 \
  static int COIPC_CHILD_CAT(coipc_child_, name)(const std::vector<std::string>& args);    \
  static ::coipc_test::child_registrar COIPC_CHILD_CAT(coipc_child_reg_, name)(            \
      #name, &COIPC_CHILD_CAT(coipc_child_, name));                                        \
  static int COIPC_CHILD_CAT(coipc_child_, name)([[maybe_unused]] const std::vector<std::string>& args)

/// A name no other test run on this machine uses: prefix + pid + counter.
inline std::string unique_name(const std::string& prefix) {
  static int counter = 0;
  return "test." + prefix + "." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

/// A started child process. Killed (SIGKILL) and reaped on destruction if still running.
class child_process {
 public:
  child_process() = default;
  explicit child_process(pid_t pid) : pid_(pid) {}
  child_process(child_process&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
  child_process& operator=(child_process&& o) noexcept {
    std::swap(pid_, o.pid_);
    std::swap(status_, o.status_);
    return *this;
  }
  ~child_process() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }

  pid_t pid() const { return pid_; }

  /// Waits for the exit; returns the exit status, 128+signal for a signal, or nullopt when
  /// it is still running after `timeout` (then it is left running).
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    if (status_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  /// SIGKILL, without reaping: the process may stay a zombie until wait().
  void kill9() { ::kill(pid_, SIGKILL); }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Starts the registered child `name` as a new process (fork + exec of this binary).
inline child_process spawn(const std::string& name, const std::vector<std::string>& args = {}) {
  std::vector<std::string> argv_s = {"/proc/self/exe", "--coipc-child", name};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::execv("/proc/self/exe", argv.data());
    std::_Exit(127);
  }
  return child_process(pid);
}

/// Runs the child named by argv when the binary was started as a child; nullopt otherwise.
inline std::optional<int> run_child_if_requested(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "--coipc-child") return std::nullopt;
  auto it = child_registry().find(argv[2]);
  if (it == child_registry().end()) {
    std::fprintf(stderr, "unknown child '%s'\n", argv[2]);
    return 126;
  }
  std::vector<std::string> args(argv + 3, argv + argc);
  try {
    return it->second(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child '%s' threw: %s\n", argv[2], e.what());
    return 125;
  }
}

}  // namespace coipc_test
