#pragma once

#include "api/publisher.hpp"
#include "api/status_part.hpp"
#include "bridge/bridge_state.hpp"
#include "bridge/fanout.hpp"
#include "bridge/intake.hpp"
#include "core/log.hpp"
#include "store/event_store.hpp"

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>

namespace agg::bridge {

// The RabbitMQ bridge (contract v2): the intake of --amqp-consume and the fan-out of
// --amqp-publish-exchange, each on its own thread and connection, reconnecting with back-off;
// their state goes to /health, /stats ("bridge") and /metrics (agg_amqp_*) through the
// service's status_part. HTTP never waits for the broker.
class bridge final : public api::status_part {
 public:
  struct settings {
    std::string url;       // --amqp-url
    std::string queue;     // --amqp-consume; empty: no intake
    std::string exchange;  // --amqp-publish-exchange; empty: no fan-out
    std::uint16_t prefetch = 256;
  };

  // Registers the fan-out's commit listener: construct before the first commit.
  bridge(settings s, api::publisher& p, store::event_store& store, logger& log);
  ~bridge() override;

  void start();
  // Ends both sessions (the intake's unacked messages go back to the queue) and joins the
  // threads. Before the consumer and the store stop.
  void stop();

  std::string_view name() const override { return "bridge"; }
  std::string health_json() const override;
  std::string stats_json() const override;
  std::string metrics_text() const override;

 private:
  std::string links_json(bool with_errors) const;

  const settings settings_;
  // Runs the intake's publish completions: they only hand the outcome to the intake thread.
  boost::asio::thread_pool completions_{1};
  link_status intake_status_, fanout_status_;
  bridge_counters counters_;
  std::unique_ptr<intake> intake_;
  std::unique_ptr<fanout> fanout_;
};

}  // namespace agg::bridge
