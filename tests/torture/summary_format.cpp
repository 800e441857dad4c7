// coipc-torture: the summaries' shared form (summary_format.hpp).
#include "summary_format.hpp"

namespace torture {

namespace {
using ull = unsigned long long;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void print_check_table(std::FILE* out, const char* heading, int name_width, int count_width,
                       const char* const* names, const char* const* descriptions, const std::uint64_t* checks,
                       const std::uint64_t* failures, unsigned n) {
  std::fprintf(out, "%-*s %*s %9s  %s\n", name_width, heading, count_width, "checks", "failures", "");
  for (unsigned k = 0; k < n; ++k) {
    std::fprintf(out, "%-*s %*llu %9llu  %s\n", name_width, names[k], count_width, static_cast<ull>(checks[k]),
                 static_cast<ull>(failures[k]), descriptions[k]);
  }
}

void print_result(std::FILE* out, std::uint64_t failures, std::uint64_t seed, const std::string& rerun,
                  const std::vector<std::string>& reports) {
  if (failures == 0) {
    std::fprintf(out, "result: PASS\n");
  } else {
    std::fprintf(out, "result: FAIL (%llu failures; seed %llu%s%s)\n", static_cast<ull>(failures),
                 static_cast<ull>(seed), rerun.empty() ? "" : "; rerun: ", rerun.c_str());
    for (const std::string& r : reports) std::fprintf(out, "%s\n", r.c_str());
  }
  std::fflush(out);
}

void json_checks(std::FILE* f, const char* const* names, const std::uint64_t* checks, const std::uint64_t* failures,
                 unsigned n) {
  for (unsigned k = 0; k < n; ++k) {
    std::fprintf(f, "%s\n    \"%s\": {\"checks\": %llu, \"failures\": %llu}", k ? "," : "", names[k],
                 static_cast<ull>(checks[k]), static_cast<ull>(failures[k]));
  }
}

void json_strings(std::FILE* f, const std::vector<std::string>& strings) {
  for (std::size_t i = 0; i < strings.size(); ++i) {
    std::fprintf(f, "%s\n    %s", i ? "," : "", json_string(strings[i]).c_str());
  }
}

}  // namespace torture
