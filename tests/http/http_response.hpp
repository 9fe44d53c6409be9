#pragma once

// A received HTTP response, decoupled from Beast's types so tests read plainly.

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agg::test {

// Header fields in the order they were received (names as sent).
using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  unsigned status = 0;
  header_list headers;
  std::string body;
  bool keep_alive = false;  // the server keeps the connection open after this response

  // The first field named `name` (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
  // The body parsed as JSON; throws std::runtime_error quoting the body when it is not JSON.
  boost::json::value json() const;
};

}  // namespace agg::test
