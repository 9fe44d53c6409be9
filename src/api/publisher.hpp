#pragma once

#include "api/responses.hpp"
#include "consumer/consumer.hpp"
#include "store/event_store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {

// The publish path, with no transport in it: media type, parse and validation, admission to
// the consumer, and the answer once the commit returned. HTTP sessions reach it through the
// service; the broker intake calls it directly with a message's body.
class publisher {
 public:
  publisher(consumer::consumer& c, const store::event_store& store,
            const std::atomic<bool>& shutting_down, std::size_t max_batch);

  // Pure: the 415 for a media type that is not JSON (absent is JSON), or nothing.
  static std::optional<reply> check_media_type(std::optional<std::string_view> content_type);

  // Calls `done` exactly once: at once for a refused body, else on `executor` after the
  // commit that made the events durable.
  void publish(std::optional<std::string_view> content_type, std::string body,
               boost::asio::any_io_executor executor, std::function<void(reply)> done);

 private:
  reply submit_error(errc e) const;

  consumer::consumer& consumer_;
  const store::event_store& store_;
  const std::atomic<bool>& shutting_down_;
  const std::size_t max_batch_;
};

}  // namespace agg::api
