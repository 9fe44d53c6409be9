#pragma once

#include "api/handler.hpp"
#include "api/publisher.hpp"
#include "consumer/consumer.hpp"
#include "store/event_store.hpp"

#include <atomic>
#include <chrono>
#include <string>

namespace agg::api {

// The service core: routing, the publish path, /events, /stats, /health and the counting of
// refused requests, for every transport. Never touches a socket, and never the store on the
// caller's thread: pages are read on the store's threads.
class service final : public handler {
 public:
  struct settings {
    std::size_t max_batch = 10000;     // --max-batch: most events in one request
    std::size_t max_body = 16u << 20;  // --max-body: largest decoded body (broker messages)
  };

  service(store::event_store& store, consumer::consumer& c, const std::atomic<bool>& shutting_down,
          settings s);

  std::optional<reply> check_head(const request_head& head) override;
  void handle(request req, std::function<void(answer)> done) override;
  void answered(boost::beast::http::status status, bool overloaded) noexcept override;

 private:
  void events(std::string_view query, std::function<void(answer)> done);
  reply stats() const;
  reply health() const;

  store::event_store& store_;
  consumer::consumer& consumer_;
  const std::atomic<bool>& shutting_down_;
  publisher publisher_;
  const std::chrono::steady_clock::time_point started_;
  const std::string started_at_;
};

}  // namespace agg::api
