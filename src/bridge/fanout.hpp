#pragma once

#include "bridge/amqp_connection.hpp"
#include "bridge/bridge_state.hpp"
#include "core/log.hpp"
#include "store/event_store.hpp"
#include "store/fanout_cursor.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace agg::bridge {

// --amqp-publish-exchange: every stored event, in seq order, to a topic exchange (routing key
// = topic, persistent, header `seq`, body = the /events event object), with publisher
// confirms. The cursor (last confirmed seq, kept in the store per exchange) moves only over
// confirmed events; a session (re)starts right after it, so after a restart, a reconnect or
// a take-over events after the cursor may be published again (at least once; consumers dedup
// by `seq`). Events are read with the store's read_page, new commits followed through its
// commit listener; on PostgreSQL the cursor's advisory lock makes one node the publisher.
// Runs on its own thread with its own connection.
class fanout {
 public:
  struct settings {
    std::string url;
    std::string exchange;
  };

  // Registers a commit listener: construct before the first commit.
  fanout(settings s, store::event_store& store, logger& log, link_status& status,
         bridge_counters& counters);
  ~fanout();

  void start();
  void stop();

  // Events stored and not yet confirmed (the seq distance; with PostgreSQL's gaps an upper
  // bound). Any thread.
  std::int64_t lag() const noexcept;

 private:
  // The commit listener's wake-up, shared so a late notice never touches a dead object.
  struct wakeup {
    std::mutex mu;
    std::condition_variable cv;
    bool signalled = false;  // guarded by mu
  };
  struct in_flight {
    std::uint64_t publish_no;  // the channel's confirm numbering: 1, 2, 3, ...
    std::int64_t seq;
    bool confirmed = false;
  };

  void run();
  std::string session(amqp_connection& c, store::fanout_cursor& cursor);
  bool read(std::int64_t after, std::int64_t limit, std::vector<store::stored_event>& out,
            std::string& error);
  void on_confirm(std::uint64_t tag, bool multiple);
  void wait(std::chrono::milliseconds d);

  const settings settings_;
  store::event_store& store_;
  const store::commit_follower following_;  // new commits of every node are its work
  logger& log_;
  link_status& status_;
  bridge_counters& counters_;
  std::shared_ptr<wakeup> wakeup_ = std::make_shared<wakeup>();

  // Fan-out thread only.
  std::deque<in_flight> unconfirmed_;
  std::int64_t confirmed_ = 0;  // last seq with every seq up to it confirmed

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace agg::bridge
