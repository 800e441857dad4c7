#include "memory.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "harness.hpp"
#include "support/payload.hpp"
import coipc;

namespace bench {
namespace {

/// Bytes in use on the tmpfs at /dev/shm; -1 when statvfs fails.
std::int64_t shm_used_bytes() {
  struct statvfs v{};
  if (::statvfs("/dev/shm", &v) != 0) return -1;
  return static_cast<std::int64_t>((v.f_blocks - v.f_bfree) * v.f_frsize);
}

/// The names of the segments opened so far; removes them all when it goes (or before,
/// with remove(), which counts those it could not remove).
struct segment_names {
  std::vector<std::string> names;
  std::uint32_t remove() noexcept {
    std::uint32_t failed = 0;
    for (const auto& n : names) {
      std::error_code ec;
      if (!coipc::remove_segment(n, ec) && ec != coipc::errc::not_found) ++failed;
    }
    names.clear();
    return failed;
  }
  ~segment_names() { remove(); }
};

}  // namespace

memory_report run_memory(const options& o) {
  memory_report r;
  r.channels = o.memory_channels.value_or(default_memory_channels);
  r.messages = o.messages.value_or(default_memory_messages);
  r.size = o.size ? o.size->first : default_memory_size;
  r.rss_before_kib = proc_status_kib("VmRSS");
  const std::int64_t used_before = shm_used_bytes();

  r.prefix = fmt::format("cbm{}-", getpid());
  segment_names segments;  // declared first: the channels close before their names go
  std::vector<coipc::channel<coipc::bytes>> channels;
  segments.names.reserve(r.channels);
  channels.reserve(r.channels);
  const char* doing = "opening";  // for the error message: what failed, on which channel
  std::uint32_t at = 0;
  try {
    for (std::uint32_t i = 0; i < r.channels; ++i) {
      at = i;
      segments.names.push_back(fmt::format("{}{}", r.prefix, i));
      // Remove first: a segment of that name left by an earlier process of this pid would
      // otherwise be opened, not created.
      std::error_code ec;
      coipc::remove_segment(segments.names.back(), ec);
      channels.emplace_back(segments.names.back(), coipc::role::both);  // default options
    }
    r.max_message_size = channels.front().max_message_size();

    doing = "sending through";
    std::vector<std::byte> out(r.size), in(r.size);
    const std::int64_t t0 = now_ns();
    for (std::uint32_t c = 0; c < r.channels; ++c) {
      auto& ch = channels[c];
      at = c;
      for (std::uint64_t k = 0; k < r.messages; ++k) {
        coipc_payload::stamp(out.data(), r.size, c, k);
        ch.send(std::span<const std::byte>(out));
        const std::size_t n = ch.recv_into(std::span<std::byte>(in));
        const coipc_payload::tag h = coipc_payload::read_tag(in.data());
        if (n != r.size || h.id != (c & 0xffff) || h.seq != (k & coipc_payload::seq_mask) ||
            !coipc_payload::stamped(in.data(), n, h))
          ++r.errors;
      }
    }
    r.seconds = static_cast<double>(now_ns() - t0) * 1e-9;

    // Measured with every channel still open.
    for (const auto& name : segments.names) {
      const std::uint64_t b = file_bytes(("/dev/shm/" + coipc::object_name_of(name)).c_str());
      r.segments_bytes += b;
      r.segment_bytes = std::max(r.segment_bytes, b);
    }
    const std::int64_t used_after = shm_used_bytes();
    if (used_before >= 0 && used_after >= 0) r.tmpfs_delta_bytes = used_after - used_before;
    r.rss_kib = proc_status_kib("VmRSS");
    r.rss_anon_kib = proc_status_kib("RssAnon");
    r.rss_file_kib = proc_status_kib("RssFile");
    r.rss_shmem_kib = proc_status_kib("RssShmem");
    r.max_rss_kib = proc_status_kib("VmHWM");
    if (r.errors) {
      r.status = run_status::failed;
      r.error = fmt::format("{} bad messages", r.errors);
    }
  } catch (const std::exception& e) {
    r.status = run_status::failed;
    r.error = fmt::format("{} channel {} of {}: {}", doing, at + 1, r.channels, e.what());
  }
  channels.clear();
  r.not_removed = segments.remove();
  if (r.not_removed && r.status == run_status::ok) {
    r.status = run_status::failed;
    r.error = fmt::format("{} segments could not be removed", r.not_removed);
  }
  return r;
}

}  // namespace bench
