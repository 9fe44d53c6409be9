#pragma once

#include "api/body_format.hpp"
#include "api/responses.hpp"
#include "api/stream.hpp"
#include "core/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace agg::auth {
struct principal;
}

namespace agg::api {

// What a transport knows of a request before its body: enough to route it and to refuse it
// (401/403/413/415) without reading or inflating a byte of the body.
struct request_head {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view target;  // as sent: path and query
  const boost::beast::http::fields* headers = nullptr;
  bool websocket = false;  // a WebSocket upgrade: a stream answer becomes WebSocket messages
  // The body's media type, coding and handling, decided once from the headers by
  // decide_body_format when the head is read: the transport decodes the body with
  // `format.coding` while reading it, so `request::body` is always decoded.
  body_format format;
  // --auth on: who sent it, set by handler::check_head when it admits the request, so that
  // handle() does not decide the credential a second time. Null under --auth off.
  std::shared_ptr<const auth::principal> who;
};

// A whole request as a transport hands it to the service core.
struct request {
  request_head head;
  std::string body;  // decoded (see request_head::format)
  // Where the answer is handed back, tracking outstanding work so that the transport's
  // context keeps running until every admitted request has been answered.
  boost::asio::any_io_executor executor;
};

// A complete reply, or a stream that stays open.
using answer = std::variant<reply, stream_reply>;

// The service core as a transport sees it (HTTP and WebSocket sessions, tests). It never
// touches a socket; a transport frames what it gets.
class handler {
 public:
  virtual ~handler() = default;

  // Before the body is read. An answer here is final: the transport sends it and skips the
  // body (reading and dropping it while the connection can be kept, else closing it).
  // Otherwise the transport passes this same head, with what check_head recorded in it
  // (`who`), to handle().
  virtual std::optional<reply> check_head(request_head& head) = 0;

  // Handles a whole request and calls `done` exactly once, from any thread.
  virtual void handle(request req, std::function<void(answer)> done) = 0;

  // Every answer the transport sends, also those it decided itself (malformed HTTP, limits),
  // as its head is written: the counters hang on this. `route`: metrics::route_of(the path),
  // `other` when the request line could not be read. `overloaded`: a 503 that asks the
  // client to come back later (Retry-After).
  virtual void answered(metrics::route route, boost::beast::http::status status,
                        bool overloaded) noexcept = 0;

  // SIGTERM or SIGINT arrived (once, on an I/O thread): answer what is held waiting (long-polls)
  // now. The transport ends open streams itself.
  virtual void stopping() noexcept {}
};

}  // namespace agg::api
