#include "stream_client.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace agg::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Runs `ioc` until the started operation set `done`, or `deadline` passed (then the caller's
// stream is cancelled and the operation completes with an error).
void run_until(asio::io_context& ioc, bool const& done, clock::time_point deadline) {
  ioc.restart();
  while (!done) {
    if (ioc.run_one_until(deadline) == 0) break;
  }
}

stream_message classify_ndjson(std::string line) {
  stream_message m;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  m.raw = line;
  if (line.empty()) {
    m.type = stream_message::kind::keepalive;
    return m;
  }
  auto obj = as_object(parse_json(line));
  if (auto it = obj.find("overflow"); it != obj.end() && obj.size() == 1) {
    m.type = stream_message::kind::overflow;
    m.object = as_object(it->value());
  } else {
    m.type = stream_message::kind::event;
    m.object = std::move(obj);
  }
  return m;
}

stream_message classify_sse(std::string block) {
  stream_message m;
  m.raw = block;
  std::string event_name, data;
  bool comment_only = true;
  std::size_t start = 0;
  while (start < block.size()) {
    auto end = block.find('\n', start);
    if (end == std::string::npos) end = block.size();
    std::string line = block.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (line[0] == ':') continue;
    comment_only = false;
    const auto colon = line.find(':');
    std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "event") event_name = value;
    if (field == "data") data += value;
    if (field == "id") m.id = value;
  }
  if (comment_only) {
    m.type = stream_message::kind::keepalive;
  } else if (event_name == "event") {
    m.type = stream_message::kind::event;
    m.object = as_object(parse_json(data));
  } else if (event_name == "overflow") {
    m.type = stream_message::kind::overflow;
    m.object = as_object(parse_json(data));
  }
  return m;
}

}  // namespace

http_stream::http_stream(std::string host, std::uint16_t port, std::string_view target, bool sse,
                         header_list const& headers, std::chrono::milliseconds timeout)
    : stream_(ioc_), sse_(sse) {
  const auto deadline = clock::now() + timeout;
  stream_.socket().connect({asio::ip::make_address(host), port});
  std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + host + "\r\n";
  for (auto const& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  asio::write(stream_.socket(), asio::buffer(req));
  while (raw_.find("\r\n\r\n") == std::string::npos)
    if (!fill(deadline)) throw std::runtime_error("no response head: " + raw_);
  const auto end = raw_.find("\r\n\r\n");
  head_ = raw_.substr(0, end + 4);
  raw_.erase(0, end + 4);
  status_ = static_cast<unsigned>(std::stoul(head_.substr(9, 3)));
  const auto te = header("Transfer-Encoding");
  chunked_ = te && iequals(*te, "chunked");
  if (status_ != 200) {
    // An error answer: a Content-Length body.
    const auto len = header("Content-Length");
    const std::size_t n = len ? std::stoul(*len) : 0;
    while (raw_.size() < n)
      if (!fill(deadline)) break;
    error_body_ = raw_.substr(0, n);
    ended_ = true;
  }
}

http_stream::~http_stream() = default;

std::optional<std::string> http_stream::header(std::string_view name) const {
  std::size_t start = head_.find("\r\n") + 2;
  while (start < head_.size()) {
    const auto end = head_.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    const std::string line = head_.substr(start, end - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos && iequals(line.substr(0, colon), name)) {
      auto v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
    start = end + 2;
  }
  return std::nullopt;
}

bool http_stream::fill(clock::time_point deadline) {
  if (clock::now() >= deadline) return false;
  char buf[16384];
  bool done = false;
  boost::system::error_code result;
  std::size_t got = 0;
  // A timer cancels the read at the deadline: unlike the stream's own timeout it leaves the
  // connection open, so a quiet spell can be waited out and reading go on.
  asio::steady_timer timer(ioc_);
  timer.expires_at(deadline);
  timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) stream_.socket().cancel();
  });
  stream_.socket().async_read_some(asio::buffer(buf),
                                   [&](boost::system::error_code ec, std::size_t n) {
                                     result = ec;
                                     got = n;
                                     done = true;
                                     timer.cancel();
                                   });
  run_until(ioc_, done, deadline + std::chrono::seconds(1));
  ioc_.restart();
  ioc_.poll();  // let the cancelled timer's handler run before `timer` goes away
  raw_.append(buf, got);
  if (result) {
    if (result != asio::error::operation_aborted) ended_ = true;  // closed: the stream is over
    return got > 0;
  }
  return true;
}

bool http_stream::decode_chunks() {
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    return true;
  }
  for (;;) {
    const auto eol = raw_.find("\r\n");
    if (eol == std::string::npos) return true;
    const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
    if (size == 0) {
      ended_ = true;
      raw_.clear();
      return true;
    }
    if (raw_.size() < eol + 2 + size + 2) return true;
    body_.append(raw_, eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
  }
}

std::optional<stream_message> http_stream::next(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    decode_chunks();
    const std::string sep = sse_ ? "\n\n" : "\n";
    const auto pos = body_.find(sep);
    if (pos != std::string::npos) {
      std::string text = body_.substr(0, pos);
      body_.erase(0, pos + sep.size());
      return sse_ ? classify_sse(std::move(text)) : classify_ndjson(std::move(text));
    }
    if (ended_ || !fill(deadline)) {
      decode_chunks();
      if (body_.find(sse_ ? "\n\n" : "\n") != std::string::npos) continue;
      return std::nullopt;
    }
  }
}

std::optional<json::object> http_stream::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = next(left);
    if (!m) return std::nullopt;
    if (m->type == stream_message::kind::event) return std::move(m->object);
    if (m->type == stream_message::kind::overflow) {
      overflow_ = as_int(at(m->object, "last_seq"));
      return std::nullopt;
    }
  }
}

std::vector<json::object> http_stream::events(std::size_t n, std::chrono::milliseconds timeout) {
  std::vector<json::object> out;
  while (out.size() < n) {
    auto e = next_event(timeout);
    if (!e) break;
    out.push_back(std::move(*e));
  }
  return out;
}

void http_stream::close() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

ws_stream::ws_stream(std::string host, std::uint16_t port, std::string_view target,
                     header_list const& headers)
    : ws_(ioc_) {
  beast::get_lowest_layer(ws_).socket().connect({asio::ip::make_address(host), port});
  ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (auto const& [k, v] : headers) req.set(k, v);
  }));
  ws_.handshake(host + ":" + std::to_string(port), std::string(target));
}

ws_stream::~ws_stream() = default;

std::optional<json::object> ws_stream::next_event(std::chrono::milliseconds timeout) {
  if (closed_) return std::nullopt;
  bool done = false;
  boost::system::error_code result;
  buffer_.clear();
  beast::get_lowest_layer(ws_).expires_after(timeout);
  ws_.async_read(buffer_, [&](boost::system::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  run_until(ioc_, done, clock::now() + timeout + std::chrono::seconds(1));
  beast::get_lowest_layer(ws_).expires_never();
  if (result == websocket::error::closed) {
    closed_ = true;
    close_code_ = static_cast<std::uint16_t>(ws_.reason().code);
    close_reason_ = std::string(ws_.reason().reason.c_str());
    return std::nullopt;
  }
  if (result) return std::nullopt;
  return as_object(parse_json(beast::buffers_to_string(buffer_.data())));
}

}  // namespace agg::test
