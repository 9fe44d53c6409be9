// bench-memory-store: the aggregator with a store that keeps its events in memory only.
//
// scripts/bench runs it as the single-event floor: the same HTTP threads, validation, queue,
// consumer thread, group commits and answers as the real server, but a commit is a few hash
// map operations instead of a SQLite transaction. What it costs per request is the service's
// shape before anything is written; the real store adds its own cost (and, being slower,
// gathers larger group commits, which share each wake-up among more requests). Same flags as
// the aggregator, but --db, --auth and the RabbitMQ flags are ignored: no durability, no pages
// of /events, no keys, no bridge.
#include "api/service.hpp"
#include "consumer/consumer.hpp"
#include "core/log.hpp"
#include "core/options.hpp"
#include "ingest/server.hpp"
#include "store/event_store.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace agg;

// Identity, outcomes, counters and topic counts exactly as the SQLite store decides them, so
// that agg-load --check-stats holds; nothing else.
class memory_store final : public store::event_store {
 public:
  // Room for 2M keys up front: rehashing the whole map as keys pile up would pause commits
  // for milliseconds, a tail the real store (dedup_index) does not have.
  memory_store() { keys_.reserve(std::size_t{1} << 21); }

  boost::system::error_code commit(std::span<const store::batch_entry> group) override {
    std::lock_guard lk(mu_);
    for (const auto& entry : group) {
      entry.results->resize(entry.events.size());
      for (std::size_t i = 0; i < entry.events.size(); ++i) {
        const event& e = entry.events[i];
        event_result& r = (*entry.results)[i];
        ++totals_.received;
        key_.assign(e.topic).push_back('\0');
        key_.append(e.event_id);
        const auto [it, added] = keys_.try_emplace(key_, stored{last_seq_ + 1, e.content_hash});
        if (!added) {
          r.seq = it->second.seq;
          r.status = it->second.content_hash == e.content_hash ? event_status::duplicate
                                                               : event_status::conflict;
          ++totals_.duplicate_dropped;
          totals_.conflicts += r.status == event_status::conflict;
          continue;
        }
        r.seq = ++last_seq_;
        r.status = event_status::accepted;
        ++totals_.unique_processed;
        ++topics_[std::string(e.topic)];
      }
    }
    ++commits_;
    return {};
  }

  void read_page(store::page_query, page_handler done) override {
    boost::asio::post(readers_, [done = std::move(done)] { done({}, {}); });
  }
  void count_rejected(std::uint64_t invalid, std::uint64_t overloaded) noexcept override {
    std::lock_guard lk(mu_);
    totals_.rejected_invalid += invalid;
    totals_.rejected_overloaded += overloaded;
  }
  store::store_stats stats() const override {
    std::lock_guard lk(mu_);
    return {totals_, {topics_.begin(), topics_.end()}};
  }
  bool writable() const noexcept override { return true; }
  std::string failure() const override { return {}; }
  std::uint64_t commits() const noexcept override {
    std::lock_guard lk(mu_);
    return commits_;
  }
  std::int64_t last_seq() const noexcept override {
    std::lock_guard lk(mu_);
    return last_seq_;
  }
  void add_commit_listener(commit_listener) override {}  // no pages, so nothing to stream
  std::unique_ptr<store::fanout_cursor> open_fanout_cursor(const std::string&) override {
    throw std::runtime_error("bench-memory-store has no RabbitMQ fan-out");
  }
  void close() noexcept override { readers_.join(); }

 private:
  struct stored {
    std::int64_t seq;
    std::uint64_t content_hash;
  };
  mutable std::mutex mu_;
  store::counters totals_;
  std::map<std::string, std::uint64_t> topics_;   // sorted, as stats() returns them
  std::unordered_map<std::string, stored> keys_;  // topic '\0' event_id -> first copy
  std::string key_;                               // scratch, under mu_
  std::int64_t last_seq_ = 0;
  std::uint64_t commits_ = 0;
  boost::asio::thread_pool readers_{1};
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    bool help = false;
    const options opts = parse_options({argv + 1, argv + argc}, {}, help);
    if (help) {
      std::fputs(usage(), stdout);
      return 0;
    }
    logger log(opts.level, opts.log_format);
    ingest::server http(opts, log);
    memory_store store;
    consumer::consumer consumer(
        store, {opts.queue_capacity, opts.batch_max, std::chrono::milliseconds(opts.linger_ms)},
        log);
    api::service service(store, consumer, http.stopping(), http.executor(),
                         {opts.max_batch,
                          opts.max_body,
                          {opts.max_subscribers, opts.subscriber_buffer},
                          opts.db,
                          nullptr});
    http.listen(service);
    http.run();
    consumer.stop();
    store.close();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
