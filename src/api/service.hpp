#pragma once

#include "api/handler.hpp"
#include "api/publisher.hpp"
#include "api/status_part.hpp"
#include "api/subscriptions.hpp"
#include "auth/authenticator.hpp"
#include "consumer/consumer.hpp"
#include "store/event_store.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace agg::api {

// The service core: routing, the publish path, /events, /stats, /health and the counting of
// refused requests, for every transport. Never touches a socket, and never the store on the
// caller's thread: pages are read on the store's threads.
class service final : public handler {
 public:
  struct settings {
    std::size_t max_batch = 10000;     // --max-batch: most events in one request
    std::size_t max_body = 16u << 20;  // --max-body: largest decoded body (broker messages)
    subscriptions::settings streams;
    std::string db_file;  // --db when it is a SQLite file: its sizes go to /metrics
    // --auth on: decides credentials (outlives the service); null = --auth off, all open.
    auth::authenticator* auth = nullptr;
  };

  // `ex`: the I/O threads (timers of streams and long-polls). Construct before the first
  // commit: the subscriptions listen to the store's commits.
  service(store::event_store& store, consumer::consumer& c, const std::atomic<bool>& shutting_down,
          boost::asio::any_io_executor ex, settings s);

  std::optional<reply> check_head(request_head& head) override;
  void handle(request req, std::function<void(answer)> done) override;
  void answered(metrics::route route, boost::beast::http::status status,
                bool overloaded) noexcept override;
  void stopping() noexcept override;

  // The publish path for other transports (the broker intake): the same parse, validation,
  // dedup and counting as POST /publish.
  publisher& publish_path() noexcept { return publisher_; }
  // Adds `p`'s state to /health, /stats and /metrics. Before the port opens; `p` outlives
  // the service's last answer.
  void attach(const status_part& p) { parts_.push_back(&p); }

 private:
  // --auth on: who sent the request (null: --auth off), or the 401 when nobody valid did.
  struct caller {
    std::shared_ptr<const auth::principal> who;
    std::optional<reply> refusal;
  };
  caller authenticate(const request_head& head, bool subscribe) const;
  void events(std::string_view query, boost::asio::any_io_executor ex,
              std::function<void(answer)> done, const auth::principal* who);
  void subscribe(const request_head& head, const auth::principal* who,
                 std::function<void(answer)> done);
  reply stats(const auth::principal* who) const;
  reply health() const;
  // The live page's files (GET /, /ui/...), open also under --auth on.
  static reply page_file(std::string_view path, const boost::beast::http::fields* headers);
  reply metrics_page() const;
  // Adds each attached part's object to the JSON object `object` under its name.
  void add_parts(std::string& object, std::string (status_part::*json)() const) const;

  store::event_store& store_;
  consumer::consumer& consumer_;
  const std::atomic<bool>& shutting_down_;
  publisher publisher_;
  subscriptions subscriptions_;
  const std::chrono::steady_clock::time_point started_;
  const std::string started_at_;
  const std::string db_file_;
  std::vector<const status_part*> parts_;  // set before the port opens, then read only
  auth::authenticator* const auth_;
};

}  // namespace agg::api
