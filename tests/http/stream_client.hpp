#pragma once

// Clients of GET /subscribe for black-box tests: an HTTP stream (NDJSON or Server-Sent
// Events, chunked) read message by message with a deadline, and a WebSocket stream. Both
// block the calling thread; use one per thread.

#include "http_response.hpp"
#include "json_util.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::test {

// One message of a stream as the client saw it.
struct stream_message {
  enum class kind {
    event,      // an event object (NDJSON line, SSE `event: event`, WebSocket message)
    keepalive,  // NDJSON empty line or SSE comment
    overflow,   // NDJSON {"overflow": ...} or SSE `event: overflow`
    other,      // SSE `retry:` block and anything else
  } type = kind::other;
  json::object object;  // event: the event; overflow: {"last_seq": N}
  std::string id;       // SSE `id:` field
  std::string raw;      // the message's text as received (without the chunk framing)
};

class http_stream {
 public:
  // Connects and sends GET `target` with the given extra headers (e.g. Accept,
  // Last-Event-ID); reads the response head. `sse` chooses how messages are split: SSE
  // blocks (blank-line separated) or NDJSON lines.
  http_stream(std::string host, std::uint16_t port, std::string_view target, bool sse,
              header_list const& headers = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~http_stream();

  unsigned status() const { return status_; }
  std::optional<std::string> header(std::string_view name) const;
  std::string const& head() const { return head_; }
  // The whole body when the answer was not a stream (an error).
  std::string const& error_body() const { return error_body_; }

  // The next message, or nullopt when the stream ended (`ended()` then) or nothing came
  // within `timeout`.
  std::optional<stream_message> next(std::chrono::milliseconds timeout);
  // The next event message, skipping keep-alives and other blocks; nullopt on end/timeout or
  // when an overflow message comes (kept in last_overflow()).
  std::optional<json::object> next_event(std::chrono::milliseconds timeout);
  // Reads `n` events (or fewer on end/timeout of `timeout` per event).
  std::vector<json::object> events(std::size_t n, std::chrono::milliseconds timeout);
  // True once the terminating chunk (or the close) was seen.
  bool ended() const { return ended_; }
  std::optional<std::int64_t> last_overflow() const { return overflow_; }
  // Stops reading: the socket stays open, unread bytes pile up in the kernel.
  void close();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // reads more raw bytes
  bool decode_chunks();  // moves complete chunk data from raw_ to body_; sets ended_

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  bool sse_;
  unsigned status_ = 0;
  std::string head_;
  std::string error_body_;
  bool chunked_ = false;
  std::string raw_;   // bytes after the head, still chunk-framed
  std::string body_;  // decoded body not yet split into messages
  bool ended_ = false;
  std::optional<std::int64_t> overflow_;
};

class ws_stream {
 public:
  // Connects and performs the WebSocket handshake for `target`; throws on failure.
  ws_stream(std::string host, std::uint16_t port, std::string_view target,
            header_list const& headers = {});
  ~ws_stream();

  // The next text message as an event object, or nullopt on close/timeout (then closed()
  // and close_code()/close_reason() tell how it ended).
  std::optional<json::object> next_event(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }
  std::uint16_t close_code() const { return close_code_; }
  std::string const& close_reason() const { return close_reason_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  bool closed_ = false;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
};

}  // namespace agg::test
