#include "api/service.hpp"

#include "api/access.hpp"
#include "api/events_query.hpp"
#include "api/metrics_page.hpp"
#include "api/router.hpp"
#include "api/static_files.hpp"
#include "api/subscribe_query.hpp"
#include "core/clock.hpp"
#include "core/json_text.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

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

// The size of a file; none when it does not exist (no WAL yet, or --db is not a file).
std::optional<std::uint64_t> file_size(const std::string& path) {
  struct stat st {};
  if (path.empty() || path == "-wal" || ::stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

service::service(store::event_store& store, consumer::consumer& c,
                 const std::atomic<bool>& shutting_down, boost::asio::any_io_executor ex,
                 settings s)
    : store_(store),
      consumer_(c),
      shutting_down_(shutting_down),
      publisher_(c, store, shutting_down, s.max_batch, s.max_body),
      subscriptions_(store, std::move(ex), s.streams),
      started_(std::chrono::steady_clock::now()),
      started_at_(format_utc_ms(std::chrono::system_clock::now())),
      db_file_(std::move(s.db_file)),
      auth_(s.auth) {}

service::caller service::authenticate(const request_head& head, bool subscribe) const {
  caller c;
  if (!auth_) return c;
  auth::presented p;
  if (const auto h = head.headers->find(http::field::authorization); h != head.headers->end())
    p = auth::parse_authorization(h->value());
  else if (subscribe)  // EventSource cannot set headers
    if (auto t = auth::access_token_param(query_of(head.target))) {
      p.kind = auth::presented::bearer;
      p.token = std::move(*t);
    }
  auto r = auth_->check(p);
  if (r.status == auth::auth_result::ok)
    c.who = std::move(r.who);
  else
    c.refusal = unauthorized_reply(r.status == auth::auth_result::invalid);
  return c;
}

std::optional<reply> service::check_head(request_head& head) {
  const auto path = path_of(head.target);
  auto routed = route(head.method, path);
  if (auth_ && !open_path(path)) {
    // Decided from the headers alone: an unknown path is 401 too, a 404 only once known.
    auto c = authenticate(head, path == "/subscribe");
    if (c.refusal) return std::move(*c.refusal);
    head.who = c.who;
    if (const auto* ep = std::get_if<endpoint>(&routed)) {
      const auto scopes = c.who->scopes;
      const bool reads = scopes & (auth::scope_read | auth::scope_admin);
      switch (*ep) {
        case endpoint::publish:
          if (!(scopes & auth::scope_publish))
            return forbidden_reply("the credential lacks the publish scope");
          break;
        case endpoint::events:
        case endpoint::subscribe:
        case endpoint::stats:
          if (!reads) return forbidden_reply("the credential lacks the read scope");
          break;
        case endpoint::metrics:
          if (!(scopes & auth::scope_admin))
            return forbidden_reply("the credential lacks the admin scope");
          break;
        case endpoint::health:
        case endpoint::page:
          break;
      }
    }
  }
  if (auto* r = std::get_if<reply>(&routed)) return std::move(*r);
  // An unknown media type or coding is refused before a byte of the body is read or inflated.
  if (std::get<endpoint>(routed) == endpoint::publish && head.format.refusal != errc::ok)
    return error_reply(head.format.refusal, head.format.message);
  return std::nullopt;
}

void service::handle(request req, std::function<void(answer)> done) {
  const auto path = path_of(req.head.target);
  auto routed = route(req.head.method, path);
  // check_head admitted this request and recorded who sent it. A transport that skipped
  // check_head gets the credential decided here, so nothing is ever let through unchecked.
  if (auth_ && !open_path(path) && !req.head.who) {
    if (auto refusal = check_head(req.head)) return done(std::move(*refusal));
  }
  const auth::principal* who = req.head.who.get();
  if (auto* r = std::get_if<reply>(&routed)) return done(std::move(*r));
  switch (std::get<endpoint>(routed)) {
    case endpoint::publish:
      return publisher_.publish(
          req.head.format, std::move(req.body), std::move(req.executor),
          [done = std::move(done), keep = req.head.who](reply r) { done(std::move(r)); },
          who ? &who->topics : nullptr);
    case endpoint::events:
      return events(query_of(req.head.target), std::move(req.executor), std::move(done), who);
    case endpoint::subscribe:
      return subscribe(req.head, who, std::move(done));
    case endpoint::stats:
      return done(stats(who));
    case endpoint::health:
      return done(health());
    case endpoint::page:
      return done(page_file(path_of(req.head.target), req.head.headers));
    case endpoint::metrics:
      return done(metrics_page());
  }
}

void service::answered(metrics::route route, http::status status, bool overloaded) noexcept {
  const auto code = static_cast<unsigned>(status);
  auto& m = metrics::process();
  m.requests(route, code).inc();
  if (code >= 400 && code < 500) {
    store_.count_rejected(1, 0);
    m.rejected_invalid.inc();
  }
  if (overloaded) {
    store_.count_rejected(0, 1);
    m.rejected_overloaded.inc();
  }
}

void service::stopping() noexcept {
  subscriptions_.stop();
}

void service::events(std::string_view query, boost::asio::any_io_executor ex,
                     std::function<void(answer)> done, const auth::principal* who) {
  auto q = parse_events_query(query);
  if (!q.error.empty()) return done(error_reply(errc::bad_query, q.error));
  // A restricted credential: a topic outside its patterns is 403; without a topic, only its
  // topics are read.
  std::shared_ptr<const auth::topic_set> allowed;
  if (who && !who->topics.all) {
    if (q.topic && !who->topics.allows(*q.topic))
      return done(forbidden_reply("the credential may not read topic " + *q.topic));
    if (!q.topic) allowed = std::make_shared<auth::topic_set>(who->topics);
  }
  store::page_query page{std::move(q.topic), q.after, q.limit};
  if (q.wait > 0 && !shutting_down_.load(std::memory_order_acquire))
    return subscriptions_.long_poll(std::move(page), std::chrono::seconds(q.wait), std::move(ex),
                                    std::move(done), std::move(allowed));
  if (allowed)
    return read_allowed_page(store_, std::move(page), std::move(allowed),
                             [done = std::move(done)](boost::system::error_code ec,
                                                      std::vector<store::stored_event> rows) {
                               done(page_reply(ec, rows));
                             });
  store_.read_page(std::move(page),
                   [done = std::move(done)](boost::system::error_code ec,
                                            std::vector<store::stored_event> rows) {
                     done(page_reply(ec, rows));
                   });
}

void service::subscribe(const request_head& head, const auth::principal* who,
                        std::function<void(answer)> done) {
  std::optional<std::string_view> last_event_id;
  const auto& h = *head.headers;
  if (const auto it = h.find("Last-Event-ID"); it != h.end()) last_event_id = it->value();
  auto q = parse_subscribe_query(query_of(head.target), last_event_id);
  if (!q.error.empty()) return done(error_reply(errc::bad_query, q.error));
  if (who && !who->topics.all) {
    // "topic=*" is a filter too (every topic), unlike no topic parameter at all.
    bool filtered = false;
    if (const auto params = decoded_params(query_of(head.target)))
      for (const auto& kv : *params) filtered = filtered || kv.first == "topic";
    if (!filtered)
      q.filter = as_filter(who->topics);  // without a filter: only its own topics
    else if (auto refusal = filter_refusal(q.filter, who->topics))
      return done(forbidden_reply(*refusal));
  }
  if (shutting_down_.load(std::memory_order_acquire))
    return done(error_reply(errc::shutting_down, "the service is shutting down"));
  auto transport = stream_transport::ndjson;
  if (head.websocket) {
    transport = stream_transport::websocket;
  } else if (const auto accept = h.find(http::field::accept);
             accept != h.end() &&
             accept->value().find("text/event-stream") != std::string_view::npos) {
    transport = stream_transport::sse;
  }
  subscriptions_.subscribe(std::move(q), transport, std::move(done));
}

reply service::stats(const auth::principal* who) const {
  if (!store_.readable())
    return error_reply(errc::unavailable, "the store is unreachable: " + store_.failure());
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  stats_snapshot s;
  static_cast<store::store_stats&>(s) = store_.stats();
  s.queue_depth = consumer_.queue_depth();
  s.queue_capacity = consumer_.queue_capacity();
  s.subscribers = subscriptions_.open_streams();
  if (who && !who->topics.all)  // its topics only; the counters stay service-wide
    std::erase_if(s.topic_counts, [who](const auto& tc) { return !who->topics.allows(tc.first); });
  reply r;
  r.body = stats_body(s, uptime, started_at_);
  add_parts(r.body, &status_part::stats_json);
  return r;
}

reply service::page_file(std::string_view path, const http::fields* headers) {
  const auto* file = find_static_file(path);
  if (!file) return error_reply(errc::not_found, "no such file of the live page; open /");
  std::optional<std::string_view> if_none_match;
  if (headers)
    if (const auto h = headers->find(http::field::if_none_match); h != headers->end())
      if_none_match = h->value();
  return static_file_reply(*file, if_none_match);
}

reply service::metrics_page() const {
  metrics_inputs in;
  in.totals = store_.stats().totals;
  in.queue_depth = consumer_.queue_depth();
  in.queue_capacity = consumer_.queue_capacity();
  in.store_up = store_.writable();
  in.db_bytes = file_size(db_file_);
  in.wal_bytes = file_size(db_file_ + "-wal");
  in.process = metrics::read_process_figures();
  in.version = AGG_VERSION;
  in.sqlite_version = sqlite3_libversion();
  reply r;
  r.content_type = metrics_content_type;
  r.body = metrics_text(metrics::process(), in);
  for (const auto* p : parts_) r.body += p->metrics_text();
  return r;
}

void service::add_parts(std::string& object, std::string (status_part::*json)() const) const {
  if (parts_.empty() || object.empty() || object.back() != '}') return;
  object.pop_back();
  for (const auto* p : parts_) {
    object += ",";
    append_json_string(object, p->name());
    object += ":";
    object += (p->*json)();
  }
  object += "}";
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
  add_parts(r.body, &status_part::health_json);
  return r;
}

}  // namespace agg::api
