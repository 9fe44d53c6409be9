#include "http_client.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <utility>

namespace agg::test {

namespace http = boost::beast::http;

http_client::http_client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : conn_(std::move(host), port, timeout) {}

http_client::error_code http_client::try_request(verb method, std::string_view target,
                                                 std::string body, header_list const& headers,
                                                 http_response& out) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, conn_.host() + ":" + std::to_string(conn_.port()));
  req.set(http::field::user_agent, "agg-http-tests");
  for (auto const& [name, value] : headers) req.insert(name, value);
  bool const has_body =
      !body.empty() || method == verb::post || method == verb::put || method == verb::patch;
  req.body() = std::move(body);
  if (has_body) req.content_length(req.body().size());
  req.keep_alive(true);

  if (!conn_.is_open()) {
    if (auto ec = conn_.connect()) return ec;
    ++connections_;
  }
  if (auto ec = conn_.write(req)) return ec;
  if (auto ec = conn_.read_response(out)) return ec;
  if (!out.keep_alive) conn_.close();
  return {};
}

http_response http_client::request(verb method, std::string_view target, std::string body,
                                   header_list const& headers) {
  http_response out;
  if (auto ec = try_request(method, target, std::move(body), headers, out))
    throw boost::system::system_error(
        ec, std::string(http::to_string(method)) + " " + std::string(target));
  return out;
}

http_response http_client::post_json(std::string_view target, std::string body) {
  return request(verb::post, target, std::move(body), {{"Content-Type", "application/json"}});
}

}  // namespace agg::test
