// Which cases a command line asks for: the default matrix, narrowed by each option given.
#pragma once
#include <vector>

#include "options.hpp"
#include "spec.hpp"

namespace bench {

/// The scenarios to run, in order, without a system (each runs on every selected system,
/// once per API: the first of --api here). Their count is --messages, or --quick's, or 0
/// for a case sized by time (time_based): the calibration gives each system its own.
std::vector<case_spec> build_matrix(const options& o);

/// Messages per sender (round trips for pingpong) of a fixed count: 100000 (pingpong
/// 20000; quick: 10000 and 1000), and for large messages at most 1 GiB per sender (quick:
/// 16 MiB), at least 16.
std::uint64_t default_messages(pattern p, std::uint32_t size_max, bool quick);

// ---- Sizing a case by time (--duration) -----------------------------------------------------
// A calibration run of a small count (quick's) measures the time per message from first send
// to last receive; while it was too short to trust (under a tenth of the target, where
// start-up and first-touch page faults weigh), the next calibration run takes more. The
// measured run then takes the count that the last calibration says lasts the target, with a
// margin (a short run is often slower, or faster, per message than a long one). A measured
// run that still fell short of the target is taken as one more calibration and run again,
// once, so that a reported run lasts at least the target unless the machine changed pace
// twice.
//
// No byte cap: the time bounds the run, so even 1 MiB messages take the target, not more.
// The caps are what the harness itself can hold.

/// At least 16 messages per sender; at most 2^32 (bytes of a sender stay in 64 bits at
/// 1 GiB messages, and sequence numbers within the payload stamp's 40 bits), and pingpong at
/// most 2^24 round trips (ping keeps every round trip's time, 8 bytes each).
inline constexpr std::uint64_t min_timed_messages = 16;
std::uint64_t max_timed_messages(pattern p);

/// The count of the first calibration run: quick's (10000, pingpong 1000; at most 16 MiB
/// per sender).
std::uint64_t first_calibration_messages(pattern p, std::uint32_t size_max);

/// A calibration run is trusted from this fraction of the target on.
inline constexpr double calibration_enough = 0.1;
/// A measured run that took less than this fraction of the target is sized again, once.
inline constexpr double measured_enough = 1.0;
/// The measured count aims this much beyond the target.
inline constexpr double count_margin = 1.25;

/// The count that lasts `seconds` at the rate of a run of `messages` that took `ran_s`,
/// times `margin`, within [min_timed_messages, max_timed_messages(p)]. A run that measured
/// no time (0 or less) counts as 1 ns per message.
std::uint64_t count_for(pattern p, std::uint64_t messages, double ran_s, double seconds, double margin = count_margin);

/// After a calibration run of `messages` that took `ran_s`, toward a target of `target_s`:
/// the count of the next calibration run, or 0 when this one is long enough to size the
/// measured run from (or already at the cap). A next run aims at twice the trusted
/// fraction, and grows at most 1000-fold.
std::uint64_t next_calibration(pattern p, std::uint64_t messages, double ran_s, double target_s);

}  // namespace bench
