// coipc-torture: a variant run's timeline and its failure reports (event_log.hpp).
#include "event_log.hpp"

#include <algorithm>
#include <cstdio>

#include "report.hpp"

namespace torture {

void event_log::note(std::string text) {
  const std::uint64_t now = monotonic_ns();
  if (verbose_) std::fprintf(stderr, "  %9.3f s  %s\n", rel_s(now), text.c_str());
  events_.push_back({now, std::move(text)});
}

void event_log::report_failures(const std::string& label, std::uint64_t seed, std::uint64_t variant_seed,
                                std::vector<std::string>& reports) {
  using ull = unsigned long long;
  std::sort(failures_.begin(), failures_.end(), [](const event& a, const event& b) { return a.ns < b.ns; });
  constexpr std::size_t detailed = 5;
  for (std::size_t i = 0; i < failures_.size() && i < detailed; ++i) {
    const event& f = failures_[i];
    std::string text = strf("FAILURE in %s at %.3f s (seed %llu; variant seed %llu): ", label.c_str(), rel_s(f.ns),
                            static_cast<ull>(seed), static_cast<ull>(variant_seed)) +
                       f.text + "\n  events around it:\n";
    std::vector<const event*> around;
    for (const event& e : events_) {
      if (e.ns + 500000000ull >= f.ns && e.ns <= f.ns + 200000000ull) around.push_back(&e);
    }
    if (around.size() > 30) around.erase(around.begin(), around.end() - 30);
    for (const event* e : around) text += strf("    %9.3f s  %s\n", rel_s(e->ns), e->text.c_str());
    std::fputs(text.c_str(), stderr);
    reports.push_back(std::move(text));
  }
  if (failures_.size() > detailed) {
    reports.push_back(strf("... and %zu more failures in %s", failures_.size() - detailed, label.c_str()));
  }
}

}  // namespace torture
