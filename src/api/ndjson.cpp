#include "api/ndjson.hpp"

namespace agg::api {

std::optional<ndjson_line> ndjson_lines::next() {
  while (!rest_.empty()) {
    const auto end = rest_.find('\n');
    std::string_view line = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view() : rest_.substr(end + 1);
    ++number_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos)
      return ndjson_line{line, number_};
  }
  return std::nullopt;
}

}  // namespace agg::api
