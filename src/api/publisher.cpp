#include "api/publisher.hpp"

#include "api/publish_parser.hpp"

#include <boost/beast/core/string.hpp>

namespace agg::api {
namespace {

bool is_json_media_type(std::string_view v) {
  // "application/json" with optional parameters ("; charset=utf-8"), case-insensitive.
  const auto semi = v.find(';');
  std::string_view type = v.substr(0, semi);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return boost::beast::iequals(type, "application/json");
}

}  // namespace

publisher::publisher(consumer::consumer& c, const store::event_store& store,
                     const std::atomic<bool>& shutting_down, std::size_t max_batch)
    : consumer_(c), store_(store), shutting_down_(shutting_down), max_batch_(max_batch) {}

std::optional<reply> publisher::check_media_type(std::optional<std::string_view> content_type) {
  if (!content_type || is_json_media_type(*content_type)) return std::nullopt;
  return error_reply(errc::unsupported_media_type, "Content-Type must be application/json, not '" +
                                                       std::string(*content_type) + "'");
}

void publisher::publish(std::optional<std::string_view> content_type, std::string body,
                        boost::asio::any_io_executor executor, std::function<void(reply)> done) {
  if (auto refused = check_media_type(content_type)) return done(std::move(*refused));
  if (shutting_down_.load(std::memory_order_acquire))
    return done(error_reply(errc::shutting_down, "the service is shutting down; retry"));

  auto parsed = api::parse_publish(body, max_batch_);
  if (parsed.code != errc::ok)
    return done(error_reply(parsed.code, parsed.message, parsed.details));
  // The events view parsed.text: do not hold the body too while the commit waits.
  std::string().swap(body);

  auto job = std::make_shared<consumer::publish_job>();
  job->events = std::move(parsed.events);
  job->text = std::move(parsed.text);
  job->executor = std::move(executor);
  job->on_done = [this, done](consumer::publish_job& j) {
    if (j.error)
      return done(error_reply(errc::unavailable, "the store failed: " + store_.failure()));
    reply r;
    r.body = publish_body(j.events, j.results);
    done(std::move(r));
  };
  if (const errc e = consumer_.submit(job); e != errc::ok) {
    job->on_done = nullptr;  // not admitted: answered here, never by the consumer
    done(submit_error(e));
  }
}

reply publisher::submit_error(errc e) const {
  switch (e) {
    case errc::overloaded:
      return error_reply(e, "the intake queue is full; retry after the Retry-After delay");
    case errc::too_large:
      return error_reply(e, "the request has more events than the intake queue holds (" +
                                std::to_string(consumer_.queue_capacity()) + ")");
    case errc::unavailable:
      return error_reply(e, "the store failed: " + store_.failure());
    default:
      return error_reply(errc::shutting_down, "the service is shutting down; retry");
  }
}

}  // namespace agg::api
