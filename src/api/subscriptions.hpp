#pragma once

#include "api/handler.hpp"
#include "api/subscribe_query.hpp"
#include "auth/permissions.hpp"
#include "core/metrics.hpp"
#include "store/event_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

namespace agg::api {

// How a stream is framed; the index of the per-transport counts (the agg_subscribers gauge's
// label too).
using stream_transport = metrics::transport;
inline constexpr std::size_t stream_transports = metrics::transport_count;

// The subscribe half of the service: live streams (/subscribe) and held /events pages
// (long-poll), both driven by the store's commit notices and its pages, so a shared store's
// other nodes are followed the same way as this one.
//
// How a stream stays exact: it first reads history from the store in pages after its cursor,
// paced by its socket (the next page is read once the previous one was written). When a page
// comes back short, it joins the live set if the hub has not yet delivered anything past its
// cursor; otherwise it reads again. The hub reads each committed range once (only while
// someone listens), serialises each event once per transport in use, and hands it to every
// live stream whose cursor is below it, under one lock, so nothing is missed or repeated at
// the hand-over. A live stream that falls more than the send budget behind ends with an
// overflow message naming the last seq it was sent.
class subscriptions {
 public:
  struct settings {
    std::size_t max_subscribers = 10000;  // --max-subscribers: open streams, then 503
    std::size_t buffer_bytes = 4u << 20;  // --subscriber-buffer: bytes a stream may lag live
    // A keep-alive (SSE comment, NDJSON empty line) after this long without a message.
    std::chrono::milliseconds keepalive{15000};
  };

  // `ex`: the I/O threads, for the hub's timers and its reads' hand-offs. Registers with the
  // store as a commit listener: construct before the first commit.
  subscriptions(store::event_store& store, boost::asio::any_io_executor ex, settings s);
  ~subscriptions();
  subscriptions(const subscriptions&) = delete;
  subscriptions& operator=(const subscriptions&) = delete;

  // GET /subscribe: the stream, or 503 overloaded past --max-subscribers (503 unavailable
  // when `latest` cannot be read from a shared store). Calls `done` once, from any thread.
  void subscribe(subscribe_query q, stream_transport t, std::function<void(answer)> done);

  // GET /events?wait=: the page after q.after; when it is empty, held until a matching event
  // is committed, `wait` passes or stop(). `ex` runs the wait's timer (the request's own).
  // `allowed` (--auth on, a restricted credential without a topic filter): only its topics.
  void long_poll(store::page_query q, std::chrono::seconds wait, boost::asio::any_io_executor ex,
                 std::function<void(answer)> done,
                 std::shared_ptr<const auth::topic_set> allowed = nullptr);

  std::size_t open_streams() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::array<std::size_t, stream_transports> open_by_transport() const noexcept;

  // SIGTERM: held pages are answered now; no new wait starts. Streams are ended by their
  // transports.
  void stop();

 private:
  struct subscriber;
  struct waiter;
  struct live_event;

  answer open_stream(topic_filter f, stream_transport t, std::int64_t from);

  void on_commit(const store::commit_notice& n);  // writer thread
  void schedule_fetch();
  void fetch();  // I/O thread
  void on_fetched(std::int64_t target, boost::system::error_code ec,
                  std::vector<store::stored_event> rows);  // store thread
  void deliver(std::vector<live_event>& batch);            // mu_ held
  void wake_waiters(const std::vector<live_event>& batch,
                    std::vector<std::shared_ptr<waiter>>& woken);  // mu_ held

  void on_open(const std::shared_ptr<subscriber>& s, std::shared_ptr<stream_sink> sink);
  void read_history(const std::shared_ptr<subscriber>& s);
  void on_history(const std::shared_ptr<subscriber>& s, std::int64_t visible,
                  boost::system::error_code ec, std::vector<store::stored_event> rows);
  void try_go_live(const std::shared_ptr<subscriber>& s);
  void on_drained(const std::shared_ptr<subscriber>& s);
  void on_closed(const std::shared_ptr<subscriber>& s);
  void arm_keepalive();  // mu_ held
  void on_keepalive_tick(boost::system::error_code ec);
  void retry_later(std::function<void()> f);

  void poll_once(std::shared_ptr<waiter> w);
  void read_waiter_page(const std::shared_ptr<waiter>& w, store::event_store::page_handler done);
  void answer_page(const std::shared_ptr<waiter>& w);
  void on_wait_timeout(const std::shared_ptr<waiter>& w);

  store::event_store& store_;
  boost::asio::any_io_executor ex_;
  const settings settings_;

  std::atomic<std::size_t> open_{0};
  std::array<std::atomic<std::size_t>, stream_transports> open_by_{};
  std::atomic<std::int64_t> notified_to_{0};  // highest seq the store said is visible
  std::atomic<bool> fetch_scheduled_{false};  // a fetch() is posted or its read in flight

  mutable std::mutex mu_;                          // lock order: mu_, then a subscriber's mu
  std::int64_t delivered_to_ = 0;                  // guarded by mu_: live streams have all <= it
  std::vector<std::shared_ptr<subscriber>> live_;  // guarded by mu_
  std::list<std::shared_ptr<waiter>> waiters_;     // guarded by mu_
  boost::asio::steady_timer keepalive_timer_;      // guarded by mu_
  bool keepalive_armed_ = false;                   // guarded by mu_
  bool stopped_ = false;                           // guarded by mu_
};

}  // namespace agg::api
