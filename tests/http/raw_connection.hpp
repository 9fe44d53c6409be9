#pragma once

// One TCP connection to the server, with a deadline on every operation, for sending
// arbitrary bytes (pipelining, malformed requests) and reading HTTP responses back.
// Blocking API over Beast's tcp_stream: each call runs its own io_context until the
// operation completes or its deadline closes the socket. Not thread-safe; use one
// connection per thread.

#include "http_response.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agg::test {

class raw_connection {
 public:
  using error_code = boost::system::error_code;

  // Does not connect yet; see connect().
  raw_connection(std::string host, std::uint16_t port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~raw_connection();
  raw_connection(raw_connection const&) = delete;
  raw_connection& operator=(raw_connection const&) = delete;

  // Error-code API: nothing throws.
  error_code connect();
  error_code write(std::string_view bytes);
  error_code write(boost::beast::http::request<boost::beast::http::string_body>& req);
  // Reads one complete response (bytes already buffered from an earlier read are used
  // first, so pipelined responses are read one after the other).
  error_code read_response(http_response& out);
  // Reads until the peer closes the connection (returns success on EOF) or the deadline.
  error_code read_until_close(std::string& out);
  void close();

  // Throwing conveniences (boost::system::system_error).
  void open();  // connect()
  void send(std::string_view bytes);
  http_response receive();

  bool is_open() const { return open_; }
  // Local port of the current connection (to see whether a connection was reused).
  std::uint16_t local_port() const;
  std::string const& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  // Runs the io_context until the started operation has completed.
  void run();

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;  // bytes read but not consumed yet
  bool open_ = false;
};

}  // namespace agg::test
