// The memory scenario (`--memory-channels N`): what N default coipc::channel<bytes> cost
// in one process once each has carried its messages. Shared memory is the sum of the
// segment files' sizes (st_size of /dev/shm/coipc.<name>; coipc reserves every page of a
// segment at creation, so that is what the tmpfs holds), with the tmpfs' own used-blocks
// delta (statvfs of /dev/shm, before the first open and after the last message) beside it
// as a check; resident memory is the process's VmRSS. Their sum counts the segment pages
// the process touched twice (they are also in VmRSS, as RssShmem): an upper bound, as the
// target ("shared memory and resident memory together") is stated.
#pragma once
#include <cstdint>
#include <string>

#include "options.hpp"
#include "status.hpp"

namespace bench {

struct memory_report {
  std::uint32_t channels = 0;
  std::uint64_t messages = 0;  ///< per channel
  std::uint32_t size = 0;      ///< bytes per message
  std::uint64_t max_message_size = 0;  ///< of the default channel, as it was opened
  std::uint64_t segment_bytes = 0;     ///< one channel's segment file (the largest)
  std::uint64_t segments_bytes = 0;    ///< all N segment files
  std::int64_t tmpfs_delta_bytes = 0;  ///< /dev/shm used blocks, after minus before
  std::uint64_t rss_before_kib = 0;    ///< VmRSS before the first channel was opened
  std::uint64_t rss_kib = 0;           ///< VmRSS after the last message, channels open
  std::uint64_t rss_anon_kib = 0, rss_file_kib = 0, rss_shmem_kib = 0;  ///< its parts
  std::uint64_t max_rss_kib = 0;       ///< VmHWM, the peak
  double seconds = 0;                  ///< first send to last receive, all channels
  std::string prefix;                  ///< the segments' names: <prefix>0 .. <prefix>N-1
  std::uint32_t not_removed = 0;       ///< segments remove_segment failed to remove
  std::uint64_t errors = 0;            ///< messages that failed the check
  run_status status = run_status::ok;  ///< ok or failed
  std::string error;

  double shm_mib() const { return static_cast<double>(segments_bytes) / (1 << 20); }
  double tmpfs_delta_mib() const { return static_cast<double>(tmpfs_delta_bytes) / (1 << 20); }
  double rss_mib() const { return static_cast<double>(rss_kib) / 1024; }
  double total_mib() const { return shm_mib() + rss_mib(); }
};

/// Runs the scenario of `o.memory_channels` channels, `o.messages` (default 10,000)
/// messages of `o.size` (default 256 B) each: every channel is opened (role::both) before
/// the first message, then each carries its messages, a send and a receive at a time, so
/// that its ring laps many times. Removes the segments before it returns. (memory.cpp)
memory_report run_memory(const options& o);

/// The readable report (table.cpp) and the --json line (json.cpp).
std::string memory_text(const memory_report& r);
std::string to_json(const memory_report& r);

}  // namespace bench
