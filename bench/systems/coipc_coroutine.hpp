// coipc's coroutine API (module coipc.asio) in coipc-bench: `--api coroutine` runs coipc's
// parties through run_coroutine() instead of the blocking loops.
#pragma once
#include <cstdint>
#include <string>

#include "../harness.hpp"
#include "../spec.hpp"

namespace bench {

/// The size of channel `name`'s segment file, /dev/shm/coipc.<name> (0 if there is none);
/// both modes record it in the party's slot once their channels are open.
std::uint64_t segment_file_bytes(const std::string& name);

/// One party of a coipc case over coroutines: channel `a` carries the case's messages
/// (pingpong: ping to pong), `b` pong's answers. Same protocol as loops.hpp: ready(),
/// wait_go() before the first send, the same stamps and checks, finish() at the end.
void run_coroutine(party& p, const case_spec& spec, const std::string& channel_a, const std::string& channel_b);

}  // namespace bench
