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

/// Messages per sender (round trips): in full up to 999999, then in millions.
std::string messages(std::uint64_t n) {
  if (n < 1'000'000) return fmt::format("{:>8}", n);
  return fmt::format("{:>7.2f}M", static_cast<double>(n) * 1e-6);
}

}  // namespace

std::string scenario_title(const case_spec& c, std::optional<double> target_s) {
  const std::string count = target_s ? fmt::format("{:g} s per row (count calibrated)", *target_s)
                            : c.pattern == pattern::pingpong ? fmt::format("{} round trips", c.messages)
                                                             : fmt::format("{} msgs/sender", c.messages);
  if (c.pattern == pattern::pingpong)
    return fmt::format("== pingpong 1<->1 · {} · {} · {} receiver · {} ==", c.size_label(), to_string(c.mode),
                       c.wait == wait_kind::spin ? "spinning" : "parked", count);
  return fmt::format("== {} {} · {} · {} · {} ==", to_string(c.pattern), c.topology(), c.size_label(),
                     to_string(c.mode), count);
}

std::string table_header(const case_spec& c) {
  if (c.pattern == pattern::pingpong)
    return fmt::format("{:<9} {:<9} {:>9} {:>13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>6} {:>8} {:>6}  {}",
                       "system", "api", "us/datum", "spread", "p50 us", "p99 us", "p99.9 us", "max us", "futex/msg",
                       "csw/msg", "cpu s", "lost", "trips", "run s", "note");
  return fmt::format("{:<9} {:<9} {:>9} {:>13} {:>9} {:>9} {:>8} {:>9} {:>8} {:>7} {:>6} {:>8} {:>6}  {}", "system",
                     "api", "us/datum", "spread", "Mmsg/s", "Mdeliv/s", "GB/s", "futex/msg", "csw/msg", "cpu s",
                     "lost", "msgs", "run s", "note");
}

std::string table_row(const result& r) {
  const measurement& m = r.median;
  std::string note = r.note;
  const std::string who = fmt::format("{:<9} {:<9}", r.spec.system, to_string(r.spec.api));
  if (r.status != run_status::ok) {
    // "n/a why", or "failed: error; note" (a case that ran and did not end well).
    const bool ran = r.status != run_status::not_applicable;
    const std::string what = fmt::format("{}{}", to_string(r.status), ran ? ":" : "");
    note = what + (m.error.empty() ? "" : " " + m.error) + (note.empty() ? "" : (m.error.empty() ? " " : "; ") + note);
    if (!ran) return fmt::format("{} {}", who, note);
  }
  if (r.spec.pattern == pattern::pingpong)
    return fmt::format("{} {} {} {} {} {} {} {} {} {} {:>6} {} {}  {}", who, sig(m.us_per_datum, 9), spread(r),
                       fixed(m.p50_ns, 9, 2, 1e-3), fixed(m.p99_ns, 9, 2, 1e-3), fixed(m.p999_ns, 9, 2, 1e-3),
                       fixed(m.max_ns, 9, 1, 1e-3), fixed(m.futex_calls_per_msg, 9, 3), fixed(m.ctxsw_per_msg, 8, 3),
                       fixed(m.cpu_s, 7, 2), count(m.lost), messages(r.spec.messages), fixed(m.run_s, 6, 3), note);
  return fmt::format("{} {} {} {} {} {} {} {} {} {:>6} {} {}  {}", who, sig(m.us_per_datum, 9), spread(r),
                     fixed(m.msgs_per_s, 9, 3, 1e-6), fixed(m.deliveries_per_s, 9, 3, 1e-6),
                     fixed(m.gbytes_per_s, 8, 3), fixed(m.futex_calls_per_msg, 9, 3), fixed(m.ctxsw_per_msg, 8, 3),
                     fixed(m.cpu_s, 7, 2), count(m.lost), messages(r.spec.messages), fixed(m.run_s, 6, 3), note);
}

std::string legend(std::optional<double> target_s) {
  std::string s =
      "us/datum: microseconds from the first send to the last receive, divided by the messages of ONE sender "
      "(pingpong: by the one-way trips). In a channel N->M each datum is N messages sent and N*M delivered, so "
      "compare topologies by Mdeliv/s.\n"
      "Mmsg/s: millions of messages sent per second, all senders together. Mdeliv/s: millions of messages "
      "received per second, all receivers together (N*M per datum). GB/s: bytes delivered per second.\n"
      "futex/msg: coipc's own count of futex calls per message sent. csw/msg: voluntary context switches of all "
      "parties per message sent, a proxy for blocking system calls. cpu s: all parties, start to end (thread "
      "mode: the whole process; iceoryx's RouDi not included).\n";
  s += target_s ? fmt::format(
                      "msgs: per sender (trips: round trips) of the measured run, sized to last about {:g} s "
                      "(--duration) by calibration runs of the same case, which are not reported. ",
                      *target_s)
                : std::string("msgs: per sender (trips: round trips), fixed by --messages or --quick. ");
  s += "run s: the measured run, first send to last receive. Each run is its own set of processes.\n";
  return s;
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
