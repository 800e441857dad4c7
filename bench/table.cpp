#include "table.hpp"

#include "memory.hpp"

#include <fmt/format.h>

namespace bench {
namespace {

std::string fixed(const std::optional<double>& v, int width, int precision, double scale = 1) {
  if (!v) return fmt::format("{:>{}}", "-", width);
  return fmt::format("{:>{}.{}f}", *v * scale, width, precision);
}

/// Enough significant digits for a figure that spans decades (us/datum: 0.05 to 500).
std::string sig(const std::optional<double>& v, int width) {
  if (!v) return fmt::format("{:>{}}", "-", width);
  const double x = *v;
  const int precision = x >= 100 ? 0 : x >= 10 ? 1 : x >= 1 ? 2 : 3;
  return fmt::format("{:>{}.{}f}", x, width, precision);
}

std::string spread(const result& r) {
  if (r.repeats < 2 || !r.us_min || !r.us_max) return fmt::format("{:>13}", "");
  return fmt::format("{:>13}", fmt::format("{}..{}", sig(r.us_min, 0), sig(r.us_max, 0)));
}

std::string count(const std::optional<std::uint64_t>& v) { return v ? fmt::format("{}", *v) : "-"; }

}  // namespace

std::string scenario_title(const case_spec& c) {
  if (c.pattern == pattern::pingpong)
    return fmt::format("== pingpong 1<->1 · {} · {} · {} receiver · {} round trips · {} API ==", c.size_label(),
                       to_string(c.mode), c.wait == wait_kind::spin ? "spinning" : "parked", c.messages,
                       to_string(c.api));
  return fmt::format("== {} {} · {} · {} · {} msgs/sender · {} API ==", to_string(c.pattern), c.topology(),
                     c.size_label(), to_string(c.mode), c.messages, to_string(c.api));
}

std::string table_header(const case_spec& c) {
  if (c.pattern == pattern::pingpong)
    return fmt::format("{:<9} {:>9} {:>13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>6}  {}", "system",
                       "us/datum", "spread", "p50 us", "p99 us", "p99.9 us", "max us", "futex/msg", "csw/msg",
                       "cpu s", "lost", "note");
  return fmt::format("{:<9} {:>9} {:>13} {:>9} {:>9} {:>8} {:>9} {:>8} {:>7} {:>6}  {}", "system", "us/datum",
                     "spread", "Mmsg/s", "Mdeliv/s", "GB/s", "futex/msg", "csw/msg", "cpu s", "lost", "note");
}

std::string table_row(const result& r) {
  const measurement& m = r.median;
  std::string note = r.note;
  if (r.status != run_status::ok) {
    // "n/a why", or "failed: error; note" (a case that ran and did not end well).
    const bool ran = r.status != run_status::not_applicable;
    const std::string what = fmt::format("{}{}", to_string(r.status), ran ? ":" : "");
    note = what + (m.error.empty() ? "" : " " + m.error) + (note.empty() ? "" : (m.error.empty() ? " " : "; ") + note);
    if (!ran) return fmt::format("{:<9} {}", r.spec.system, note);
  }
  if (r.spec.pattern == pattern::pingpong)
    return fmt::format("{:<9} {} {} {} {} {} {} {} {} {} {:>6}  {}", r.spec.system, sig(m.us_per_datum, 9), spread(r),
                       fixed(m.p50_ns, 9, 2, 1e-3), fixed(m.p99_ns, 9, 2, 1e-3), fixed(m.p999_ns, 9, 2, 1e-3),
                       fixed(m.max_ns, 9, 1, 1e-3), fixed(m.futex_calls_per_msg, 9, 3), fixed(m.ctxsw_per_msg, 8, 3),
                       fixed(m.cpu_s, 7, 2), count(m.lost), note);
  return fmt::format("{:<9} {} {} {} {} {} {} {} {} {:>6}  {}", r.spec.system, sig(m.us_per_datum, 9), spread(r),
                     fixed(m.msgs_per_s, 9, 3, 1e-6), fixed(m.deliveries_per_s, 9, 3, 1e-6),
                     fixed(m.gbytes_per_s, 8, 3), fixed(m.futex_calls_per_msg, 9, 3), fixed(m.ctxsw_per_msg, 8, 3),
                     fixed(m.cpu_s, 7, 2), count(m.lost), note);
}

std::string memory_text(const memory_report& r) {
  std::string s = fmt::format(
      "== memory · {} channel<bytes>, default options, role::both · {} msgs of {} B each ==\n", r.channels,
      r.messages, r.size);
  const std::string names = fmt::format("segments coipc.{}0 .. coipc.{}{}: {}", r.prefix, r.prefix, r.channels - 1,
                                        r.not_removed ? fmt::format("{} not removed", r.not_removed) : "removed");
  if (r.status != run_status::ok) return s + fmt::format("{}: {}\n{}\n", to_string(r.status), r.error, names);
  const auto mib = [](std::uint64_t kib) { return static_cast<double>(kib) / 1024; };
  s += fmt::format("segment  {:>9.1f} KiB per channel ({} B; max message {} B)\n",
                   static_cast<double>(r.segment_bytes) / 1024, r.segment_bytes, r.max_message_size);
  s += fmt::format("shared   {:>9.2f} MiB in segment files (tmpfs used {:+.2f} MiB)\n", r.shm_mib(),
                   r.tmpfs_delta_mib());
  s += fmt::format(
      "resident {:>9.2f} MiB VmRSS (anon {:.2f}, shmem {:.2f}, file {:.2f}; before the channels {:.2f}; peak {:.2f})\n",
      r.rss_mib(), mib(r.rss_anon_kib), mib(r.rss_shmem_kib), mib(r.rss_file_kib), mib(r.rss_before_kib),
      mib(r.max_rss_kib));
  s += fmt::format("total    {:>9.2f} MiB shared + resident ({:.3f} MiB per channel)\n", r.total_mib(),
                   r.total_mib() / r.channels);
  s += fmt::format("{} messages through {} channels in {:.2f} s, {} failed the check\n", r.messages * r.channels,
                   r.channels, r.seconds, r.errors);
  return s + names + "\n";
}

}  // namespace bench
