// coipc-torture: a variant run's timeline, and the failure reports made from it. Both
// supervisors (supervisor.cpp, hostile.cpp) note every start, kill and death as it happens;
// a failure is reported with the seeds that replay it and the events around it, which is
// what makes a failure of a randomized run something one can act on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torture {

class event_log {
 public:
  /// t0: the run's start, from which times are printed; verbose: print each event too.
  event_log(std::uint64_t t0, bool verbose) : t0_(t0), verbose_(verbose) {}

  /// Seconds since the run's start.
  double rel_s(std::uint64_t ns) const { return ns > t0_ ? static_cast<double>(ns - t0_) / 1e9 : 0.0; }

  void note(std::string text);
  /// A failure at `ns` (reported by report_failures).
  void failure(std::uint64_t ns, std::string text) { failures_.push_back({ns, std::move(text)}); }

  /// The first few failures by time, each with the events from half a second before it to
  /// a fifth after (at most 30), printed to stderr and appended to `reports`; then a line
  /// for the rest. `seed` and `variant_seed` are printed in each, to replay it.
  void report_failures(const std::string& label, std::uint64_t seed, std::uint64_t variant_seed,
                       std::vector<std::string>& reports);

 private:
  struct event {
    std::uint64_t ns;
    std::string text;
  };
  std::uint64_t t0_;
  bool verbose_;
  std::vector<event> events_;
  std::vector<event> failures_;
};

}  // namespace torture
