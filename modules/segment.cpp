module;
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>
module coipc;

namespace coipc {

namespace {
constexpr std::string_view object_prefix = "coipc.";

std::uint64_t header_checksum(const segment_header& h) {
  std::string_view bytes(reinterpret_cast<const char*>(&h), offsetof(segment_header, checksum));
  return detail::fnv1a(bytes);
}

std::string describe(const segment_geometry& g) {
  return fmt::format("kind {}, overflow policy {}, ring {} B, max message {} B, {} receivers, "
                     "{} senders, body {} B",
                     g.kind, g.overflow_policy, g.ring_bytes, g.max_message_size,
                     g.max_receivers, g.max_senders, g.body_size);
}

// Closes a file descriptor on scope exit, unless released to a segment that keeps it.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() noexcept { return std::exchange(fd, -1); }
};

struct mapping {
  void* base = nullptr;
  std::size_t size = 0;
};

// Test builds put an inaccessible guard region after every mapping, so that a read past a
// segment's end faults at once (AddressSanitizer does not check shared mappings, and the
// next mapping could otherwise be readable). Zero in the installed library.
constexpr std::size_t guard_bytes = detail::fault::enabled ? std::size_t{64} << 10 : 0;

bool map_fd(int fd, std::size_t size, std::string_view name, mapping& out, std::error_code& ec) {
  // MAP_POPULATE: fault every page in now, so that the data path never takes a page fault
  // (a first lap through a fresh ring would otherwise fault once per 4 KiB page).
  void* where = nullptr;
  int fixed = 0;
  if constexpr (guard_bytes != 0) {
    where = ::mmap(nullptr, size + guard_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (where == MAP_FAILED) {
      return detail::fail_errno(ec, errno, fmt::format("channel '{}': reserving {} B failed", name, size));
    }
    fixed = MAP_FIXED;  // over the reservation's start; the rest stays PROT_NONE
  }
  void* p = ::mmap(where, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE | fixed, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    if (where) ::munmap(where, size + guard_bytes);
    return detail::fail_errno(ec, err, fmt::format("channel '{}': mmap of {} B failed", name, size));
  }
  out = {p, size};
  return true;
}

void unmap(void* base, std::size_t size) noexcept { ::munmap(base, size + guard_bytes); }

// Checks everything the header of an existing segment claims against the file's real size.
// `expected_type`/`expected_geometry` may be null (inspection: accept any).
bool validate_header(const segment_header& h, std::size_t file_size, std::string_view name,
                     const type_fingerprint* expected_type,
                     const segment_geometry* expected_geometry, std::error_code& ec) {
  if (h.magic != segment_header::expected_magic) {
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': not a coipc segment (bad magic {:#018x})", name,
                                    h.magic));
  }
  if (h.layout_version != layout_version) {
    return detail::fail(ec, errc::version_mismatch,
                        fmt::format("channel '{}': segment has layout version {}, this coipc "
                                    "uses layout version {}",
                                    name, h.layout_version, layout_version));
  }
  if (h.checksum != header_checksum(h)) {
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': header checksum mismatch (garbage or a "
                                    "partial write)",
                                    name));
  }
  if (h.header_size != sizeof(segment_header) ||
      h.total_size != h.header_size + h.geometry.body_size) {
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': inconsistent header (header {} B, body {} B, "
                                    "total {} B)",
                                    name, h.header_size, h.geometry.body_size, h.total_size));
  }
  if (h.total_size != file_size) {
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': truncated segment: header says {} B, the "
                                    "file has {} B",
                                    name, h.total_size, file_size));
  }
  if (expected_type && !(h.type == *expected_type)) {
    return detail::fail(ec, errc::type_mismatch,
                        fmt::format("channel '{}': payload type mismatch: segment holds {}, "
                                    "caller asked for {}",
                                    name, describe(h.type), describe(*expected_type)));
  }
  if (expected_geometry && !(h.geometry == *expected_geometry)) {
    return detail::fail(ec, errc::geometry_mismatch,
                        fmt::format("channel '{}': geometry mismatch: segment has {}; caller "
                                    "asked for {}",
                                    name, describe(h.geometry), describe(*expected_geometry)));
  }
  return true;
}

// Validates an opened existing segment, then maps it. The header is read with pread and
// judged first: nothing is mapped, let alone populated, before its magic, checksum and
// claimed size have been checked against the file (a hostile 1 GiB sparse file at a
// channel's name costs one 256-byte read). Then exactly the size the header claims is
// mapped. The check judges a private copy, so a process scribbling on the shared header
// meanwhile cannot make it judge one thing and use another.
bool attach(int fd, std::string_view name, const type_fingerprint* type,
            const segment_geometry* geometry, mapping& out, std::error_code& ec) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return detail::fail_errno(ec, errno, fmt::format("channel '{}': fstat failed", name));
  }
  auto file_size = static_cast<std::size_t>(st.st_size);
  if (file_size < sizeof(segment_header)) {
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': truncated segment: {} B, shorter than the "
                                    "{} B header",
                                    name, file_size, sizeof(segment_header)));
  }
  segment_header copy;
  ssize_t n = 0;
  do {
    n = ::pread(fd, &copy, sizeof copy, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return detail::fail_errno(ec, errno, fmt::format("channel '{}': cannot read the header", name));
  if (static_cast<std::size_t>(n) != sizeof copy) {
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': truncated segment: read {} B of the {} B header",
                                    name, n, sizeof copy));
  }
  if (!validate_header(copy, file_size, name, type, geometry, ec)) return false;
  mapping m;
  if (!map_fd(fd, static_cast<std::size_t>(copy.total_size), name, m, ec)) return false;
  // The header may have changed between the read and the mapping (a live writer, or a
  // hostile one): what is used from now on must be what was judged.
  if (std::memcmp(&copy, m.base, sizeof copy) != 0) {
    unmap(m.base, m.size);
    return detail::fail(ec, errc::corrupt_segment,
                        fmt::format("channel '{}': the header changed while it was opened", name));
  }
  out = m;
  return true;
}

bool fail_open_errno(std::error_code& ec, int err, std::string_view name) {
  if (err == ENOENT) {
    return detail::fail(ec, errc::not_found, fmt::format("channel '{}': no such channel", name));
  }
  if (err == EACCES || err == EPERM) {
    return detail::fail(ec, errc::permission_denied,
                        fmt::format("channel '{}': permission denied (the segment belongs to "
                                    "another user or was created owner-only)",
                                    name));
  }
  return detail::fail_errno(ec, err, fmt::format("channel '{}': cannot open segment", name));
}
}  // namespace

std::string describe(const type_fingerprint& type) {
  std::string_view name(type.name, strnlen(type.name, sizeof type.name));
  if (type.size == 0) return fmt::format("`{}` (variable size)", name);
  return fmt::format("`{}` ({} B, align {})", name, type.size, type.alignment);
}

bool validate_name(std::string_view name, std::error_code& ec) {
  ec.clear();
  auto bad = [&](std::string_view why) {
    return detail::fail(ec, errc::invalid_name,
                        fmt::format("invalid channel name '{}': {}", name, why));
  };
  if (name.empty()) return bad("the name is empty");
  if (name.size() > max_name_length) {
    return bad(fmt::format("{} characters, the limit is {}", name.size(), max_name_length));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return bad(fmt::format("character {:?} is not allowed (use letters, digits, '.', '_', '-')",
                             c));
    }
  }
  if (name.front() == '.') return bad("it starts with '.'");
  if (name.find("..") != std::string_view::npos) return bad("it contains \"..\"");
  return true;
}

std::string object_name_of(std::string_view name) {
  std::string s(object_prefix);
  s += name;
  return s;
}

// ---- segment ---------------------------------------------------------------------------------

segment::segment(segment&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      created_(other.created_),
      name_(std::move(other.name_)) {}

segment& segment::operator=(segment&& other) noexcept {
  if (this != &other) {
    reset();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    fd_ = std::exchange(other.fd_, -1);
    created_ = other.created_;
    name_ = std::move(other.name_);
  }
  return *this;
}

segment::~segment() { reset(); }

void segment::reset() noexcept {
  if (base_) unmap(base_, size_);
  // Closing drops every slot lock this mapping's description holds.
  if (fd_ >= 0) ::close(fd_);
  base_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

segment segment::open(std::string_view name, const type_fingerprint& type,
                      const segment_geometry& geometry, const segment_options& options,
                      const body_initializer& init, std::error_code& ec) {
  ec.clear();
  segment result;
  if (!validate_name(name, ec)) return result;
  const std::string object = object_name_of(name);
  const std::size_t total = sizeof(segment_header) + geometry.body_size;

  // A few rounds: between a failed publish (the name exists) and our open, the winner may
  // have removed the name again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (options.mode != open_mode::create_only) {
      std::error_code os_ec;
      int fd = platform::shm_open_existing(object, os_ec);
      if (fd >= 0) {
        fd_guard guard{fd};
        mapping m;
        if (!attach(fd, name, &type, &geometry, m, ec)) return result;
        result.base_ = m.base;
        result.size_ = m.size;
        result.fd_ = guard.release();
        result.name_ = std::string(name);
        return result;
      }
      if (os_ec.value() != ENOENT || options.mode == open_mode::open_only) {
        fail_open_errno(ec, os_ec.value(), name);
        return result;
      }
    }

    // Create under no name, initialize, then publish atomically.
    std::error_code os_ec;
    int fd = platform::shm_create_unnamed(total, static_cast<unsigned>(options.permissions), os_ec);
    if (fd < 0) {
      detail::fail_errno(ec, os_ec.value(),
                         os_ec.value() == ENOSPC
                             ? fmt::format("channel '{}': no room for a {} B segment in /dev/shm "
                                           "(its tmpfs is full or too small; see `df -h /dev/shm`)",
                                           name, total)
                             : fmt::format("channel '{}': cannot create a {} B segment", name, total));
      return result;
    }
    fd_guard guard{fd};
    mapping m;
    if (!map_fd(fd, total, name, m, ec)) return result;
    auto* h = static_cast<segment_header*>(m.base);
    platform::process_id me = platform::this_process();
    h->magic = segment_header::expected_magic;
    h->layout_version = layout_version;
    h->header_size = sizeof(segment_header);
    h->total_size = total;
    h->creator_pid = me.pid;
    h->creator_start_time = me.start_time;
    h->type = type;
    h->geometry = geometry;
    h->checksum = header_checksum(*h);
    if (init) init({static_cast<std::byte*>(m.base) + sizeof(segment_header), geometry.body_size});

    if (platform::shm_publish(fd, object, os_ec)) {
      result.base_ = m.base;
      result.size_ = m.size;
      result.fd_ = guard.release();
      result.created_ = true;
      result.name_ = std::string(name);
      return result;
    }
    unmap(m.base, m.size);
    if (os_ec.value() != EEXIST) {
      detail::fail_errno(ec, os_ec.value(), fmt::format("channel '{}': cannot publish segment", name));
      return result;
    }
    if (options.mode == open_mode::create_only) {
      detail::fail(ec, errc::already_exists, fmt::format("channel '{}': already exists", name));
      return result;
    }
    // Lost the race: open the winner's segment on the next round.
  }
  detail::fail(ec, errc::system_error,
               fmt::format("channel '{}': the segment kept appearing and disappearing while "
                           "opening (concurrent create and remove)",
                           name));
  return result;
}

segment segment::open(std::string_view name, const type_fingerprint& type,
                      const segment_geometry& geometry, const segment_options& options,
                      const body_initializer& init) {
  std::error_code ec;
  segment s = open(name, type, geometry, options, init, ec);
  detail::throw_if(ec);
  return s;
}

segment segment::inspect(std::string_view name, std::error_code& ec) {
  ec.clear();
  segment result;
  if (!validate_name(name, ec)) return result;
  std::error_code os_ec;
  int fd = platform::shm_open_existing(object_name_of(name), os_ec);
  if (fd < 0) {
    fail_open_errno(ec, os_ec.value(), name);
    return result;
  }
  fd_guard guard{fd};
  mapping m;
  if (!attach(fd, name, nullptr, nullptr, m, ec)) return result;
  result.base_ = m.base;
  result.size_ = m.size;
  result.fd_ = guard.release();
  result.name_ = std::string(name);
  return result;
}

bool remove_segment(std::string_view name, std::error_code& ec) {
  ec.clear();
  if (!validate_name(name, ec)) return false;
  std::error_code os_ec;
  if (!platform::shm_remove(object_name_of(name), os_ec)) return fail_open_errno(ec, os_ec.value(), name);
  return true;
}

void remove_segment(std::string_view name) {
  std::error_code ec;
  remove_segment(name, ec);
  detail::throw_if(ec);
}

std::vector<std::string> list_segments() {
  std::vector<std::string> names = platform::shm_list(object_prefix);
  for (auto& n : names) n.erase(0, object_prefix.size());
  return names;
}

}  // namespace coipc
