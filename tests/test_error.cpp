// coipc:error — the category, its messages, and the two reporting conventions.
#include <catch2/catch.hpp>

#include <string>
#include <system_error>

import coipc;

TEST_CASE("coipc errors have their own category with readable messages") {
  std::error_code ec = coipc::errc::type_mismatch;  // implicit: is_error_code_enum
  CHECK(std::string(ec.category().name()) == "coipc");
  CHECK(ec.message() == "payload type mismatch");
  CHECK(&ec.category() == &coipc::error_category());
  CHECK(ec == coipc::errc::type_mismatch);
  CHECK(ec != coipc::errc::timeout);
  CHECK(coipc::make_error_code(coipc::errc::timeout).message() == "timed out");
  CHECK(std::error_code(999, coipc::error_category()).message().find("999") != std::string::npos);
}

TEST_CASE("error_code overloads set last_error_message - throwing ones carry it") {
  std::error_code ec;
  CHECK_FALSE(coipc::validate_name("bad/name", ec));
  CHECK(ec == coipc::errc::invalid_name);
  CHECK(coipc::last_error_message().find("'bad/name'") != std::string::npos);
  try {
    coipc::remove_segment("bad/name");
    FAIL("expected std::system_error");
  } catch (const std::system_error& e) {
    CHECK(e.code() == coipc::errc::invalid_name);
    CHECK(std::string(e.what()).find("'bad/name'") != std::string::npos);
  }
}
