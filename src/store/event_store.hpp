#pragma once

#include "core/event.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace agg::store {

class fanout_cursor;  // store/fanout_cursor.hpp

// The persistent counters of /stats. Written in the same transaction as the events they
// count, so after any crash they agree with the stored events.
struct counters {
  std::uint64_t received = 0;  // == unique_processed + duplicate_dropped
  std::uint64_t unique_processed = 0;
  std::uint64_t duplicate_dropped = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t rejected_invalid = 0;     // requests answered 4xx
  std::uint64_t rejected_overloaded = 0;  // requests answered 503 overloaded
};

// The service-wide figures of /stats: the one source of truth for every counter.
struct store_stats {
  counters totals;
  std::vector<std::pair<std::string, std::uint64_t>> topic_counts;  // sorted by topic
};

// One committed event as /events returns it.
struct stored_event {
  std::int64_t seq = 0;
  std::string topic;
  std::string event_id;
  std::string timestamp;
  std::string source;
  std::string payload;  // compact JSON text
  std::string received_at;
};

// A page of /events: events with seq > after (of `topic` if given), ascending, at most limit.
struct page_query {
  std::optional<std::string> topic;
  std::int64_t after = 0;
  std::int64_t limit = 1000;
};

// One request's events inside a group commit; the store writes `results` in request order.
struct batch_entry {
  std::span<const event> events;
  std::vector<event_result>* results;
};

// Told after every commit that made events visible: seqs first..last (inclusive; with a
// shared store, gaps of other nodes' aborted transactions are allowed) can now be read.
struct commit_notice {
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
};

// Where events live. The consumer hands it whole groups of requests; how identity is decided
// (an in-memory index, a unique constraint in the database) and how seq is assigned are the
// implementation's business. Guarantees every implementation gives:
//  - commit(): one transaction for the whole group. On success every event has its outcome:
//    `accepted` with a new seq (increasing in group order, above every seq visible before),
//    or `duplicate` / `conflict` with the stored copy's seq; the counters (and the rejected
//    counts noted so far) are durable with it. On failure nothing of the group is stored.
//  - A failed write may be sticky (SQLite: the file is suspect until a restart): failure()
//    then says why, and commit() refuses at once. Reads keep working where they can.
//  - Listeners hear of every visible seq range exactly once, in ascending order.
// Thread use: commit() and close() from one writer thread at a time; everything else from
// any thread.
class event_store {
 public:
  using page_handler = std::function<void(boost::system::error_code, std::vector<stored_event>)>;
  using commit_listener = std::function<void(const commit_notice&)>;

  virtual ~event_store() = default;

  virtual boost::system::error_code commit(std::span<const batch_entry> group) = 0;
  // Called by the writer thread when it has requests waiting, just before it closes the next
  // group: a store shared by several nodes may wait here for this node's turn to commit, so
  // that what arrives meanwhile joins the group instead of waiting for the commit after it.
  // True when it took the turn; the next commit() then uses it. Default: no turn to take.
  virtual bool take_turn() { return false; }

  // Reads a page on the store's own threads and calls `done` there (never inline).
  virtual void read_page(page_query q, page_handler done) = 0;

  // Notes requests refused as invalid (4xx) or overloaded (503); they become durable with the
  // next commit (or close()).
  virtual void count_rejected(std::uint64_t invalid, std::uint64_t overloaded) noexcept = 0;
  virtual store_stats stats() const = 0;

  // Whether writes are accepted now (cheap: checked for every submitted request).
  virtual bool writable() const noexcept = 0;
  // Whether /stats and pages can be read now. SQLite: always (reads outlive a failed write);
  // PostgreSQL: while the server is reachable.
  virtual bool readable() const noexcept { return true; }
  // Empty while writes are accepted; otherwise why not.
  virtual std::string failure() const = 0;

  // Write transactions committed since the store was opened: a group of requests shares one,
  // which the tests of group commit look at.
  virtual std::uint64_t commits() const noexcept = 0;

  // The highest seq readers can see now (0 while the store is empty): where a subscription
  // "from now on" starts. Any thread.
  virtual std::int64_t last_seq() const noexcept = 0;

  // The highest seq committed through any node, asked of the store itself: a shared store's
  // last_seq() hears of other nodes' commits only when their notices arrive, while
  // `after=latest` means above everything committed when the stream's head is sent. Calls
  // `done` once, from any thread; a store of one node answers at once with last_seq().
  using last_seq_handler = std::function<void(boost::system::error_code, std::int64_t)>;
  virtual void read_last_seq(last_seq_handler done) { done({}, last_seq()); }

  // Called after every commit on the writer's thread; a listener must not block.
  // Register before the first commit.
  virtual void add_commit_listener(commit_listener l) = 0;

  // How many things on this node wait for commits made through other nodes (a live stream, a
  // held long poll, the bridge's fan-out): +1 when one starts, -1 when it ends (see
  // commit_follower). A shared store hears of other nodes' commits at once only while the count
  // is above zero, because hearing costs the database a signal and a message per commit for
  // every node that listens; otherwise the listeners hear of them within about a second. Any
  // thread; a store of one node has no other nodes to follow.
  virtual void follow_commits(int delta) noexcept { (void)delta; }

  // The RabbitMQ fan-out's cursor of `exchange` on a connection of its own (see
  // fanout_cursor). Throws std::runtime_error when that connection cannot be made.
  virtual std::unique_ptr<fanout_cursor> open_fanout_cursor(const std::string& exchange) = 0;

  // Persists what is still only in memory (the rejected counts), tidies the files and stops
  // the read threads. Nothing may be called after it but the destructor.
  virtual void close() noexcept = 0;
};

// Keeps `store` following other nodes' commits (event_store::follow_commits) while it lives.
class commit_follower {
 public:
  explicit commit_follower(event_store& store) noexcept : store_(store) {
    store_.follow_commits(1);
  }
  ~commit_follower() { store_.follow_commits(-1); }
  commit_follower(const commit_follower&) = delete;
  commit_follower& operator=(const commit_follower&) = delete;

 private:
  event_store& store_;
};

}  // namespace agg::store
