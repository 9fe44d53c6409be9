#pragma once

// A small synchronous HTTP/1.1 client with keep-alive: one connection, opened on first
// use and opened again after the server ended it (`Connection: close` or an I/O error).
// Not thread-safe: one client per thread.

#include "http_response.hpp"
#include "raw_connection.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agg::test {

class http_client {
 public:
  using error_code = boost::system::error_code;
  using verb = boost::beast::http::verb;

  http_client(std::string host, std::uint16_t port,
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Sends one request and reads its response. Adds Host, User-Agent and Content-Length
  // (when there is a body or the method is POST/PUT/PATCH); nothing else, so a test can
  // leave Content-Type out. Throws boost::system::system_error on I/O failure.
  http_response request(verb method, std::string_view target, std::string body = {},
                        header_list const& headers = {});
  // Same, but reports I/O failure (refused, reset, closed before a response, timeout)
  // as an error code, which load tests count instead of failing.
  error_code try_request(verb method, std::string_view target, std::string body,
                         header_list const& headers, http_response& out);

  http_response get(std::string_view target) { return request(verb::get, target); }
  // POST with Content-Type: application/json.
  http_response post_json(std::string_view target, std::string body);

  void close() { conn_.close(); }
  bool is_open() const { return conn_.is_open(); }
  // Number of TCP connections opened so far (keep-alive reuses one).
  std::size_t connection_count() const { return connections_; }
  std::uint16_t local_port() const { return conn_.local_port(); }

 private:
  raw_connection conn_;
  std::size_t connections_ = 0;
};

}  // namespace agg::test
