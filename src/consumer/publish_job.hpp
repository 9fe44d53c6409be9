#pragma once

#include "core/event.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <vector>

namespace agg::consumer {

// One admitted publish request. The submitter fills `events`, `text`, `executor` and
// `on_done`; the consumer fills `results` (request order) or `error`, then posts `on_done`
// to `executor` once the commit that made the events durable has returned.
struct publish_job {
  std::vector<event> events;
  std::vector<char> text;  // owns the bytes the events' fields view
  std::vector<event_result> results;
  boost::system::error_code error;  // errc::unavailable when the store failed
  // The submitter's executor, tracking outstanding work: the HTTP context keeps running until
  // every admitted request has been answered, also during shutdown.
  boost::asio::any_io_executor executor;
  std::function<void(publish_job&)> on_done;
};

}  // namespace agg::consumer
