#include "api/router.hpp"

#include "api/events_query.hpp"
#include "core/clock.hpp"
#include "core/json_text.hpp"

namespace agg::api {

namespace http = boost::beast::http;

std::variant<endpoint, reply> route(http::verb method, std::string_view path) {
  const bool read = method == http::verb::get || method == http::verb::head;
  auto not_allowed = [](const char* allow) {
    reply r =
        error_reply(errc::method_not_allowed, std::string("method not allowed; use ") + allow);
    r.allow = allow;
    return r;
  };
  if (path == "/publish") {
    if (method == http::verb::post) return endpoint::publish;
    return not_allowed("POST");
  }
  endpoint ep;
  if (path == "/events")
    ep = endpoint::events;
  else if (path == "/stats")
    ep = endpoint::stats;
  else if (path == "/health")
    ep = endpoint::health;
  else
    return error_reply(errc::not_found, "no such endpoint; see /publish, /events, /stats, /health");
  if (!read) return not_allowed("GET, HEAD");
  return ep;
}

router::router(consumer::consumer& c, const std::atomic<bool>& shutting_down)
    : consumer_(c),
      shutting_down_(shutting_down),
      started_(std::chrono::steady_clock::now()),
      started_at_(format_utc_ms(std::chrono::system_clock::now())) {}

void router::handle(endpoint ep, std::string_view query, std::function<void(reply)> done) {
  switch (ep) {
    case endpoint::stats:
      done(stats());
      return;
    case endpoint::health:
      done(health());
      return;
    case endpoint::publish:
      done(error_reply(errc::not_found, "POST /publish is not a read"));
      return;
    case endpoint::events:
      break;
  }
  auto q = parse_events_query(query);
  if (!q.error.empty()) {
    done(error_reply(errc::bad_query, q.error));
    return;
  }
  consumer_.read([q = std::move(q), done = std::move(done)](store::sqlite_reader& r) {
    std::vector<store::stored_event> rows;
    rows.reserve(static_cast<std::size_t>(std::min<std::int64_t>(q.limit, 1024)));
    if (auto ec = r.events(q.topic, q.after, q.limit, rows)) {
      done(error_reply(errc::unavailable, "cannot read events: " + r.last_error()));
      return;
    }
    reply ok;
    ok.body = events_body(rows);
    done(std::move(ok));
  });
}

reply router::stats() const {
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  reply r;
  r.body = stats_body(consumer_.snapshot(), uptime, started_at_);
  return r;
}

reply router::health() const {
  reply r;
  if (consumer_.failed()) {
    r.status = http::status::service_unavailable;
    r.body = "{\"status\":\"unavailable\",\"reason\":";
    append_json_string(r.body, consumer_.failure());
    r.body += "}";
  } else if (shutting_down_.load(std::memory_order_acquire)) {
    r.status = http::status::service_unavailable;
    r.body = "{\"status\":\"shutting_down\",\"reason\":\"SIGTERM or SIGINT received\"}";
  } else {
    r.body = "{\"status\":\"ok\"}";
  }
  return r;
}

}  // namespace agg::api
