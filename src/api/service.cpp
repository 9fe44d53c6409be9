#include "api/service.hpp"

#include "api/events_query.hpp"
#include "api/router.hpp"
#include "core/clock.hpp"
#include "core/json_text.hpp"

namespace agg::api {
namespace {

namespace http = boost::beast::http;

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

}  // namespace

service::service(store::event_store& store, consumer::consumer& c,
                 const std::atomic<bool>& shutting_down, settings s)
    : store_(store),
      consumer_(c),
      shutting_down_(shutting_down),
      publisher_(c, store, shutting_down, s.max_batch, s.max_body),
      started_(std::chrono::steady_clock::now()),
      started_at_(format_utc_ms(std::chrono::system_clock::now())) {}

std::optional<reply> service::check_head(const request_head& head) {
  auto routed = route(head.method, path_of(head.target));
  if (auto* r = std::get_if<reply>(&routed)) return std::move(*r);
  // An unknown media type or coding is refused before a byte of the body is read or inflated.
  if (std::get<endpoint>(routed) == endpoint::publish && head.format.refusal != errc::ok)
    return error_reply(head.format.refusal, head.format.message);
  return std::nullopt;
}

void service::handle(request req, std::function<void(answer)> done) {
  auto routed = route(req.head.method, path_of(req.head.target));
  if (auto* r = std::get_if<reply>(&routed)) return done(std::move(*r));
  switch (std::get<endpoint>(routed)) {
    case endpoint::publish:
      return publisher_.publish(req.head.format, std::move(req.body), std::move(req.executor),
                                [done = std::move(done)](reply r) { done(std::move(r)); });
    case endpoint::events:
      return events(query_of(req.head.target), std::move(done));
    case endpoint::stats:
      return done(stats());
    case endpoint::health:
      return done(health());
  }
}

void service::answered(http::status status, bool overloaded) noexcept {
  const auto code = static_cast<unsigned>(status);
  if (code >= 400 && code < 500) store_.count_rejected(1, 0);
  if (overloaded) store_.count_rejected(0, 1);
}

void service::events(std::string_view query, std::function<void(answer)> done) {
  auto q = parse_events_query(query);
  if (!q.error.empty()) return done(error_reply(errc::bad_query, q.error));
  store::page_query page{std::move(q.topic), q.after, q.limit};
  store_.read_page(
      std::move(page), [this, done = std::move(done)](boost::system::error_code ec,
                                                      std::vector<store::stored_event> rows) {
        if (ec) return done(error_reply(errc::unavailable, "cannot read events: " + ec.message()));
        reply ok;
        ok.body = events_body(rows);
        done(std::move(ok));
      });
}

reply service::stats() const {
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  stats_snapshot s;
  static_cast<store::store_stats&>(s) = store_.stats();
  s.queue_depth = consumer_.queue_depth();
  s.queue_capacity = consumer_.queue_capacity();
  reply r;
  r.body = stats_body(s, uptime, started_at_);
  return r;
}

reply service::health() const {
  reply r;
  if (!store_.writable()) {
    r.status = http::status::service_unavailable;
    r.body = "{\"status\":\"unavailable\",\"reason\":";
    append_json_string(r.body, store_.failure());
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
