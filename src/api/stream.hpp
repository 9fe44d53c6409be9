#pragma once

#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace agg::api {

// The transport's side of a long-lived answer: chunks of an HTTP body (Server-Sent Events,
// NDJSON) or WebSocket text messages. Every call is thread-safe: a commit listener may send
// from the store's thread. Messages are shared, never copied per stream, so one event
// serialised once can go to every subscriber.
class stream_sink {
 public:
  using message = std::shared_ptr<const std::string>;

  virtual ~stream_sink() = default;

  // Queues one message (one chunk, or one WebSocket message). Returns false once the stream
  // has ended or is ending; the message is then dropped. Messages sent from one thread keep
  // their order; an end() from another thread may overtake a send() and drop its message.
  virtual bool send(message m) = 0;
  // The same for several messages at once, in their order: one hand-over to the transport,
  // which may write them with one system call.
  virtual bool send_all(std::vector<message> ms) = 0;

  // Bytes queued and not yet taken by the socket: the send budget is checked against this.
  virtual std::size_t queued_bytes() const noexcept = 0;

  // Ends the stream once what is queued has been written: `last` (if any) is the final
  // message; then the HTTP body ends, or the WebSocket closes with `code` and `reason`.
  virtual void end(message last = {}, std::uint16_t code = 1000, std::string reason = {}) = 0;
};

// An answer that stays open: the head is written at once (HTTP 200 with chunked transfer
// encoding, or the WebSocket handshake), then the endpoint writes to the sink over time.
// The callbacks run on the transport's executor, one at a time.
struct stream_reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string content_type = "application/x-ndjson";
  std::vector<std::pair<std::string, std::string>> headers;  // any other header, as written

  // Called once, right after the head was written: from now on the endpoint may send.
  std::function<void(std::shared_ptr<stream_sink>)> on_open;
  // Called each time every queued message has been written: back-pressure from the socket,
  // e.g. to read the next page of history only when the previous one went out.
  std::function<void()> on_drained;
  // Called once when the stream is over for any reason: the peer left, the service shuts
  // down (the transport then ends the stream itself: WebSocket code 1001), or end() finished.
  std::function<void()> on_closed;
};

}  // namespace agg::api
