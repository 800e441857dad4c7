// coipc-torture: the report segment (see report.hpp).
#include "report.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace torture {

namespace {

constexpr std::uint64_t report_magic = 0x54524f5452505431ull;  // "TRPTTR1"-ish

std::size_t size_for(std::uint32_t records) {
  // Record 0 is unused (ids are 1-based): records + 1 of them after the header.
  return sizeof(report_header) + (std::size_t{records} + 1) * sizeof(party_record);
}

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string strf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void report::map(int fd, const std::string& name) {
  base_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);  // the mapping keeps the segment
  if (base_ == MAP_FAILED) {
    base_ = nullptr;
    fail_errno("report segment " + name + ": mmap");
  }
  header_ = static_cast<report_header*>(base_);
}

report report::create(const std::string& name, std::uint32_t records) {
  ::shm_unlink(name.c_str());
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail_errno("report segment " + name);
  report r;
  r.size_ = size_for(records);
  // A fresh object reads as zeros: every counter and flag starts at 0.
  if (::ftruncate(fd, static_cast<off_t>(r.size_)) != 0) {
    ::close(fd);
    fail_errno("report segment " + name + ": ftruncate");
  }
  r.map(fd, name);
  r.header_->records = records;
  r.header_->magic = report_magic;
  return r;
}

report report::open(const std::string& name) {
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) fail_errno("report segment " + name);
  report_header probe{};
  if (::pread(fd, &probe, sizeof probe, 0) != static_cast<ssize_t>(sizeof probe) || probe.magic != report_magic) {
    ::close(fd);
    throw std::runtime_error("report segment " + name + ": not a report");
  }
  report r;
  r.size_ = size_for(probe.records);
  r.map(fd, name);
  return r;
}

report::report(report&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), size_(o.size_), header_(std::exchange(o.header_, nullptr)) {}

report& report::operator=(report&& o) noexcept {
  if (this != &o) {
    if (base_) ::munmap(base_, size_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = o.size_;
    header_ = std::exchange(o.header_, nullptr);
  }
  return *this;
}

report::~report() {
  if (base_) ::munmap(base_, size_);
}

party_record* report::record(std::uint64_t id) const noexcept {
  if (!header_ || id == 0 || id > header_->records) return nullptr;
  auto* first = reinterpret_cast<party_record*>(static_cast<char*>(base_) + sizeof(report_header));
  return first + id;
}

void report::unlink(const std::string& name) noexcept { ::shm_unlink(name.c_str()); }

// ---- party_log ---------------------------------------------------------------------------

void party_log::fail(invariant i, const std::string& what) {
  const auto k = static_cast<unsigned>(i);
  bump(r_.failures[k]);
  if (r_.failure_text_ready.load(std::memory_order_relaxed) == 0) {
    r_.first_failure_ns.store(monotonic_ns(), std::memory_order_relaxed);
    std::snprintf(r_.failure_text, sizeof r_.failure_text, "%s: %s", name_of(i), what.c_str());
    r_.failure_text_ready.store(1, std::memory_order_release);
  }
  // The first few at once on stderr, with the time, for a human watching the run.
  if (failures_printed_ < 3) {
    ++failures_printed_;
    std::fprintf(stderr, "torture: incarnation %llu (pid %d) at %.3f s: %s: %s\n",
                 static_cast<unsigned long long>(incarnation_), static_cast<int>(::getpid()),
                 static_cast<double>(monotonic_ns() - t0_ns_) / 1e9, name_of(i), what.c_str());
  }
}

void party_log::progress(const report_header& h) noexcept {
  const std::uint64_t now = monotonic_ns();
  const std::uint64_t quiet = h.quiet_since_ns.load(std::memory_order_relaxed);
  if (quiet != 0 && now > quiet) {
    // The gap since the last progress, counting only the quiet phase and only this
    // incarnation's connected life.
    std::uint64_t since = r_.last_progress_ns.load(std::memory_order_relaxed);
    since = std::max({since, quiet, r_.connected_ns.load(std::memory_order_relaxed)});
    if (now > since && now - since > r_.max_quiet_gap_ns.load(std::memory_order_relaxed)) {
      r_.max_quiet_gap_ns.store(now - since, std::memory_order_relaxed);
    }
  }
  r_.last_progress_ns.store(now, std::memory_order_relaxed);
}

}  // namespace torture
