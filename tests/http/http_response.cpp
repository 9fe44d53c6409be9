#include "http_response.hpp"

#include "json_util.hpp"

#include <boost/beast/core/string.hpp>

namespace agg::test {

std::optional<std::string> http_response::header(std::string_view name) const {
  for (auto const& [k, v] : headers)
    if (boost::beast::iequals(k, name)) return v;
  return std::nullopt;
}

boost::json::value http_response::json() const {
  return parse_json(body);
}

}  // namespace agg::test
