#include "raw_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include <utility>

namespace agg::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

raw_connection::raw_connection(std::string host, std::uint16_t port,
                               std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout), stream_(ioc_) {}

raw_connection::~raw_connection() {
  close();
}

void raw_connection::run() {
  ioc_.restart();
  ioc_.run();
}

raw_connection::error_code raw_connection::connect() {
  close();
  error_code ec;
  auto const address = asio::ip::make_address(host_, ec);
  if (ec) return ec;
  error_code result = asio::error::would_block;
  stream_.expires_after(timeout_);
  stream_.async_connect(asio::ip::tcp::endpoint(address, port_), [&](error_code e) { result = e; });
  run();
  if (result) {
    close();
    return result;
  }
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  open_ = true;
  return {};
}

raw_connection::error_code raw_connection::write(std::string_view bytes) {
  if (!open_) return asio::error::not_connected;
  error_code result = asio::error::would_block;
  stream_.expires_after(timeout_);
  asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                    [&](error_code e, std::size_t) { result = e; });
  run();
  if (result) close();
  return result;
}

raw_connection::error_code raw_connection::write(http::request<http::string_body>& req) {
  if (!open_) return asio::error::not_connected;
  error_code result = asio::error::would_block;
  stream_.expires_after(timeout_);
  http::async_write(stream_, req, [&](error_code e, std::size_t) { result = e; });
  run();
  if (result) close();
  return result;
}

raw_connection::error_code raw_connection::read_response(http_response& out) {
  if (!open_) return asio::error::not_connected;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);  // /events pages can be large
  error_code result = asio::error::would_block;
  stream_.expires_after(timeout_);
  http::async_read(stream_, buffer_, parser, [&](error_code e, std::size_t) { result = e; });
  run();
  if (result) {
    close();
    return result;
  }
  auto& res = parser.get();
  out = http_response{};
  out.status = res.result_int();
  for (auto const& field : res)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  return {};
}

raw_connection::error_code raw_connection::read_until_close(std::string& out) {
  out = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  if (!open_) return {};
  stream_.expires_after(timeout_);
  for (;;) {
    char chunk[4096];
    error_code result = asio::error::would_block;
    std::size_t n = 0;
    stream_.async_read_some(asio::buffer(chunk), [&](error_code e, std::size_t bytes) {
      result = e;
      n = bytes;
    });
    run();
    out.append(chunk, n);
    if (result == asio::error::eof || result == asio::error::connection_reset) {
      close();
      return {};
    }
    if (result) {
      close();
      return result;
    }
  }
}

void raw_connection::close() {
  error_code ignored;
  if (stream_.socket().is_open()) {
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }
  buffer_.consume(buffer_.size());
  open_ = false;
}

std::uint16_t raw_connection::local_port() const {
  error_code ec;
  auto ep = stream_.socket().local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void raw_connection::open() {
  if (auto ec = connect()) throw boost::system::system_error(ec, "connect");
}

void raw_connection::send(std::string_view bytes) {
  if (auto ec = write(bytes)) throw boost::system::system_error(ec, "write");
}

http_response raw_connection::receive() {
  http_response r;
  if (auto ec = read_response(r)) throw boost::system::system_error(ec, "read response");
  return r;
}

}  // namespace agg::test
