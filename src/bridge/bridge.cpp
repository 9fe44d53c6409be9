#include "bridge/bridge.hpp"

#include "core/exposition.hpp"
#include "core/json_text.hpp"

namespace agg::bridge {

const char* to_string(link_state s) noexcept {
  switch (s) {
    case link_state::off:
      return "off";
    case link_state::connecting:
      return "connecting";
    case link_state::running:
      return "running";
    case link_state::paused:
      return "paused";
    case link_state::standby:
      return "standby";
  }
  return "off";
}

bridge::bridge(settings s, api::publisher& p, store::event_store& store, logger& log)
    : settings_(std::move(s)) {
  if (!settings_.queue.empty())
    intake_ =
        std::make_unique<intake>(intake::settings{settings_.url, settings_.queue,
                                                  settings_.prefetch, completions_.get_executor()},
                                 p, store, log, intake_status_, counters_);
  if (!settings_.exchange.empty())
    fanout_ = std::make_unique<fanout>(fanout::settings{settings_.url, settings_.exchange}, store,
                                       log, fanout_status_, counters_);
}

bridge::~bridge() {
  stop();
}

void bridge::start() {
  if (intake_) intake_->start();
  if (fanout_) fanout_->start();
}

void bridge::stop() {
  if (intake_) intake_->stop();
  if (fanout_) fanout_->stop();
  completions_.join();
}

std::string bridge::links_json(bool with_errors) const {
  std::string b = "{\"intake\":\"";
  b += to_string(intake_status_.state.load());
  b += "\",\"fanout\":\"";
  b += to_string(fanout_status_.state.load());
  b += "\"";
  if (with_errors) {
    if (const auto e = intake_status_.error(); !e.empty()) {
      b += ",\"intake_error\":";
      append_json_string(b, e);
    }
    if (const auto e = fanout_status_.error(); !e.empty()) {
      b += ",\"fanout_error\":";
      append_json_string(b, e);
    }
  }
  return b;
}

std::string bridge::health_json() const {
  return links_json(true) + "}";
}

std::string bridge::stats_json() const {
  std::string b = links_json(false);
  auto field = [&b](const char* name, std::uint64_t v) {
    b += ",\"";
    b += name;
    b += "\":";
    b += std::to_string(v);
  };
  field("consumed", counters_.consumed.load());
  field("acked", counters_.acked.load());
  field("rejected", counters_.rejected.load());
  field("published", counters_.published.load());
  field("confirmed", counters_.confirmed.load());
  b += ",\"fanout_seq\":" + std::to_string(counters_.fanout_seq.load());
  b += ",\"fanout_lag\":" + std::to_string(fanout_ ? fanout_->lag() : 0);
  b += "}";
  return b;
}

std::string bridge::metrics_text() const {
  metrics::exposition x;
  auto counter = [&x](std::string_view name, std::string_view help, std::uint64_t v) {
    x.family(name, "counter", help);
    x.sample(name, {}, v);
  };
  counter("agg_amqp_consumed_total", "Messages delivered to the RabbitMQ intake.",
          counters_.consumed.load());
  counter("agg_amqp_acked_total", "Intake messages acked after their commit.",
          counters_.acked.load());
  counter("agg_amqp_rejected_total", "Intake messages rejected as invalid (not requeued).",
          counters_.rejected.load());
  counter("agg_amqp_published_total", "Events published to the fan-out exchange.",
          counters_.published.load());
  counter("agg_amqp_confirmed_total", "Published events confirmed by the broker.",
          counters_.confirmed.load());
  x.family("agg_amqp_fanout_lag_events", "gauge",
           "Stored events not yet confirmed by the broker (seq distance).");
  x.sample("agg_amqp_fanout_lag_events", {}, fanout_ ? fanout_->lag() : std::int64_t{0});
  x.family("agg_amqp_up", "gauge", "1 while the bridge's side is consuming or publishing.");
  x.sample("agg_amqp_up", {{"side", "intake"}},
           std::int64_t{intake_status_.state.load() == link_state::running});
  x.sample("agg_amqp_up", {{"side", "fanout"}},
           std::int64_t{fanout_status_.state.load() == link_state::running});
  return x.take();
}

}  // namespace agg::bridge
