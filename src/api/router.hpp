#pragma once

#include "api/responses.hpp"
#include "consumer/consumer.hpp"

#include <boost/beast/http/verb.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

namespace agg::api {

enum class endpoint { publish, events, stats, health };

// Pure: the endpoint for (method, path), or the 404 / 405 (with Allow) reply.
// GET and HEAD are allowed on the read endpoints, POST on /publish.
std::variant<endpoint, reply> route(boost::beast::http::verb method, std::string_view path);

// The read side of the API: /events, /stats, /health. Never touches SQLite on the caller's
// thread: /events runs on a consumer reader strand and `done` is called there.
class router {
 public:
  router(consumer::consumer& c, const std::atomic<bool>& shutting_down);

  void handle(endpoint ep, std::string_view query, std::function<void(reply)> done);

 private:
  reply stats() const;
  reply health() const;

  consumer::consumer& consumer_;
  const std::atomic<bool>& shutting_down_;
  const std::chrono::steady_clock::time_point started_;
  const std::string started_at_;
};

}  // namespace agg::api
