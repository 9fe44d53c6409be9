#pragma once

#include "api/body_format.hpp"
#include "api/responses.hpp"
#include "auth/permissions.hpp"
#include "consumer/consumer.hpp"
#include "store/event_store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// The publish path, with no transport in it: body format, decoding, parse and validation,
// admission to the consumer, and the answer once the commit returned. HTTP sessions reach it
// through the service; the broker intake calls publish_message with a message's body.
class publisher {
 public:
  publisher(consumer::consumer& c, const store::event_store& store,
            const std::atomic<bool>& shutting_down, std::size_t max_batch, std::size_t max_body);

  // `format` was decided from the request's head (decide_body_format) and `body` is already
  // decoded (the HTTP session decodes while it reads). Calls `done` exactly once: at once for
  // a refused body, else on `executor` after the commit that made the events durable.
  // `allowed` (--auth on, a credential restricted to some topics): a valid event outside it
  // refuses the whole request with 403 (after validation's 422, also when lenient).
  void publish(const body_format& format, std::string body, boost::asio::any_io_executor executor,
               std::function<void(reply)> done, const auth::topic_set* allowed = nullptr);

  // A whole message as it came, e.g. from the broker: its content type and content encoding
  // decide the format as for HTTP (decide_body_format), the body is decoded here (the same
  // --max-body limit on the decoded size), then as publish(). All or nothing: no lenient
  // handling.
  void publish_message(std::optional<std::string_view> content_type,
                       std::optional<std::string_view> content_encoding, std::string body,
                       boost::asio::any_io_executor executor, std::function<void(reply)> done);

 private:
  reply submit_error(errc e) const;

  consumer::consumer& consumer_;
  const store::event_store& store_;
  const std::atomic<bool>& shutting_down_;
  const std::size_t max_batch_;
  const std::size_t max_body_;
};

}  // namespace agg::api
