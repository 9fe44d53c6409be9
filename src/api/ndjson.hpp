#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace agg::api {

// One line of an NDJSON body that holds something: its text without the line end, and its
// 1-based number in the body (blank lines counted), for the 422 details.
struct ndjson_line {
  std::string_view text;
  std::size_t number = 0;
};

// Pure: walks the lines of an NDJSON body in place, no copy. A line ends with "\n" (a "\r"
// before it is part of the end); the last line may have no end. A line of JSON whitespace
// only (space, tab, "\r") is blank and skipped.
class ndjson_lines {
 public:
  explicit ndjson_lines(std::string_view body) : rest_(body) {}

  // The next non-blank line, or nullopt at the end of the body.
  std::optional<ndjson_line> next();

 private:
  std::string_view rest_;
  std::size_t number_ = 0;  // lines taken so far
};

}  // namespace agg::api
