#pragma once

#include "api/publisher.hpp"
#include "bridge/amqp_connection.hpp"
#include "bridge/bridge_state.hpp"
#include "core/log.hpp"
#include "store/event_store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace agg::bridge {

// --amqp-consume: the queue's messages go through the HTTP publish path (publish_message:
// the same parse, validation, dedup, counters and metrics), each acked only after the commit
// that made its events durable (or found them duplicates of committed events).
//  - Invalid (what HTTP answers 4xx): basic.reject without requeue, so a dead-letter exchange
//    of the queue receives it; logged with the reason; counted once in rejected.invalid.
//  - The store unavailable (what HTTP answers 503 unavailable): nothing is acked or rejected;
//    the session ends (closing the channel gives every unacked message back to the queue) and
//    consuming starts again only once the store is writable.
//  - The intake queue full (503 overloaded): the message is submitted again after 20 ms,
//    still unacked; --amqp-prefetch bounds what is held, the broker queues the rest.
// Acks go out in delivery order, one `multiple` ack for each run of committed messages.
// Runs on its own thread with its own connection; never blocks the HTTP or consumer threads.
class intake {
 public:
  struct settings {
    std::string url;
    std::string queue;
    std::uint16_t prefetch = 256;
    boost::asio::any_io_executor executor;  // runs the publish completions (they only post)
  };

  intake(settings s, api::publisher& p, store::event_store& store, logger& log, link_status& status,
         bridge_counters& counters);
  ~intake();

  void start();
  // Ends the session (unacked messages go back to the queue) and joins the thread.
  void stop();

 private:
  // What the publish path decided for one delivery; filled by the completion.
  enum class outcome : std::uint8_t { waiting, stored, invalid, overloaded, unavailable };
  struct pending {
    std::uint64_t tag = 0;
    outcome result = outcome::waiting;
    std::string reason;             // invalid or unavailable: the error body
    amqp_connection::delivery msg;  // kept for a resubmission after overloaded
    std::chrono::steady_clock::time_point retry_at{};
  };
  // Completions arrive on the executor's thread; the intake thread takes them.
  struct mailbox {
    std::mutex mu;
    struct item {
      std::uint64_t session;
      std::uint64_t tag;
      outcome result;
      std::string reason;
    };
    std::deque<item> items;  // guarded by mu
  };

  void run();
  // One connection's life; returns why it ended (empty when stopped).
  std::string session(amqp_connection& c);
  void submit(pending& p);
  void take_outcomes();
  bool settle(amqp_connection& c, bool& pause);
  void sleep_for(std::chrono::milliseconds d);

  const settings settings_;
  api::publisher& publisher_;
  store::event_store& store_;
  logger& log_;
  link_status& status_;
  bridge_counters& counters_;
  std::shared_ptr<mailbox> mailbox_ = std::make_shared<mailbox>();

  // Intake thread only.
  std::uint64_t session_ = 0;    // bumped per session: stale completions are ignored
  std::deque<pending> pending_;  // unacked deliveries in delivery order

  std::atomic<bool> stop_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;  // wakes sleep_for at stop()
  std::thread thread_;
};

}  // namespace agg::bridge
