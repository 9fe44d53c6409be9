#include "api/publisher.hpp"

#include "api/body_decoder.hpp"
#include "api/publish_parser.hpp"

namespace agg::api {
namespace {

// What a lenient answer needs besides the job's events and results.
struct lenient_rest {
  std::vector<std::uint32_t> positions;
  std::vector<field_error> details;
  std::size_t count = 0;
};

reply ok_reply(std::string body, bool lenient) {
  reply r;
  r.body = std::move(body);
  if (lenient) r.headers.emplace_back("Preference-Applied", "handling=lenient");
  return r;
}

}  // namespace

publisher::publisher(consumer::consumer& c, const store::event_store& store,
                     const std::atomic<bool>& shutting_down, std::size_t max_batch,
                     std::size_t max_body)
    : consumer_(c),
      store_(store),
      shutting_down_(shutting_down),
      max_batch_(max_batch),
      max_body_(max_body) {}

void publisher::publish_message(std::optional<std::string_view> content_type,
                                std::optional<std::string_view> content_encoding, std::string body,
                                boost::asio::any_io_executor executor,
                                std::function<void(reply)> done) {
  auto format = decide_body_format(content_type, content_encoding);
  if (format.refusal != errc::ok) return done(error_reply(format.refusal, format.message));
  if (format.coding != content_coding::identity) {
    if (body.size() > max_encoded_size(max_body_))
      return done(error_reply(errc::too_large, "encoded body is larger than the limit of " +
                                                   std::to_string(max_encoded_size(max_body_)) +
                                                   " bytes"));
    std::string decoded, message;
    if (const errc e = decode_body(format.coding, body, max_body_, decoded, message); e != errc::ok)
      return done(error_reply(e, message));
    body = std::move(decoded);
    format.coding = content_coding::identity;
  } else if (body.size() > max_body_) {
    return done(error_reply(errc::too_large, "body is larger than the limit of " +
                                                 std::to_string(max_body_) + " bytes"));
  }
  publish(format, std::move(body), std::move(executor), std::move(done));
}

void publisher::publish(const body_format& format, std::string body,
                        boost::asio::any_io_executor executor, std::function<void(reply)> done,
                        const auth::topic_set* allowed) {
  if (format.refusal != errc::ok) return done(error_reply(format.refusal, format.message));
  if (shutting_down_.load(std::memory_order_acquire))
    return done(error_reply(errc::shutting_down, "the service is shutting down; retry"));

  auto parsed = api::parse_publish(body, format, max_batch_);
  if (parsed.code != errc::ok)
    return done(error_reply(parsed.code, parsed.message, parsed.details));
  // The events view parsed.text: do not hold the body too while the commit waits.
  std::string().swap(body);
  if (allowed && !allowed->all) {
    std::vector<field_error> forbidden;
    for (std::size_t k = 0; k < parsed.events.size(); ++k)
      if (!allowed->allows(parsed.events[k].topic))
        forbidden.push_back({format.lenient ? parsed.positions[k] : k, "topic",
                             "the credential may not publish to this topic", 0});
    if (!forbidden.empty())
      return done(error_reply(errc::forbidden,
                              "events outside the credential's topics; nothing was stored",
                              forbidden));
  }

  std::shared_ptr<lenient_rest> rest;
  if (format.lenient) {
    rest = std::make_shared<lenient_rest>(
        lenient_rest{std::move(parsed.positions), std::move(parsed.details), parsed.count});
    if (parsed.events.empty())  // every event was invalid: nothing to store
      return done(
          ok_reply(publish_body({}, {}, {rest->positions, rest->details, rest->count}), true));
  }

  auto job = std::make_shared<consumer::publish_job>();
  job->events = std::move(parsed.events);
  job->text = std::move(parsed.text);
  job->executor = std::move(executor);
  job->on_done = [this, done, rest](consumer::publish_job& j) {
    if (j.error)
      return done(error_reply(errc::unavailable, "the store failed: " + store_.failure()));
    if (rest)
      return done(ok_reply(
          publish_body(j.events, j.results, {rest->positions, rest->details, rest->count}), true));
    done(ok_reply(publish_body(j.events, j.results), false));
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
