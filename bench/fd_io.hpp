// Helpers for the file-descriptor peers (pipes, Unix sockets, POSIX queues): whole writes,
// waiting on several descriptors at once, kernel limits from /proc.
#pragma once
#include <poll.h>

#include <cstddef>
#include <span>
#include <vector>

namespace bench {

/// Writes all `n` bytes (a pipe may take a large write in pieces); throws on error.
void write_all(int fd, const std::byte* p, std::size_t n);

/// Blocks until at least one of `fds` is readable; returns them in `ready` (indexes).
void wait_readable(std::span<pollfd> fds, std::vector<std::size_t>& ready);

/// Sets or clears O_NONBLOCK.
void set_nonblocking(int fd, bool on);

/// A buffer aligned for any payload, filled once with a pattern.
std::vector<std::byte> payload_buffer(std::size_t size);

[[noreturn]] void throw_errno(const char* what);

/// The number in a file such as /proc/sys/fs/mqueue/msg_max, or -1.
long read_long(const char* path);

}  // namespace bench
