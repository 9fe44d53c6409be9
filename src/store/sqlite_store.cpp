#include "store/sqlite_store.hpp"

#include "core/clock.hpp"
#include "core/errc.hpp"
#include "core/metrics.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace agg::store {
namespace {

// How many events ahead write_group prefetches dedup index slots: enough to cover a memory
// access (~100 ns) with the work of the events in between.
constexpr std::size_t index_lookahead = 8;

std::int64_t unix_ms_now() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::unique_ptr<sqlite_store> sqlite_store::open(const std::string& path, settings s) {
  return std::unique_ptr<sqlite_store>(new sqlite_store(path, s));
}

sqlite_store::sqlite_store(const std::string& path, settings s)
    : writer_(sqlite_writer::open(path, s.sync)), read_pool_(std::max<std::size_t>(1, s.readers)) {
  lock_ = std::make_unique<instance_lock>(path);
  const auto rec = writer_->recover(
      [this](std::int64_t max_seq) { index_.reserve(static_cast<std::size_t>(max_seq)); },
      [this](std::int64_t seq, std::uint64_t hash) { index_.insert(hash, seq); });
  last_seq_ = rec.max_seq;
  visible_seq_.store(last_seq_, std::memory_order_release);
  committed_ = rec.totals;
  stats_totals_ = rec.totals;
  rejected_invalid_ = rec.totals.rejected_invalid;
  rejected_overloaded_ = rec.totals.rejected_overloaded;
  for (const auto& [topic, n] : rec.topic_counts) topic_counts_.emplace(topic, n);
  publish_index_size();
  checkpointer_ = std::make_unique<sqlite_checkpointer>(
      path, sqlite_checkpointer::settings{.sync = s.sync,
                                          .pass_pages = s.checkpoint_pages,
                                          .restart_pages = s.wal_restart_pages,
                                          .limit_pages = s.wal_limit_pages,
                                          .catch_up_wait = s.wal_restart_wait});
  // The WAL file may keep the length the bound lets it reach: reused rather than regrown.
  constexpr std::int64_t frame_bytes = 4096 + 24;  // SQLite's default page and frame header
  writer_->hand_checkpoints_to(
      [this](int pages) {
        if (checkpointer_) checkpointer_->committed(pages);
      },
      std::int64_t{s.wal_limit_pages} * frame_bytes);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, s.readers); ++i)
    readers_.push_back({boost::asio::make_strand(read_pool_.get_executor()),
                        std::make_unique<sqlite_reader>(path)});
}

sqlite_store::~sqlite_store() {
  close();
}

boost::system::error_code sqlite_store::commit(std::span<const batch_entry> group) {
  if (failed_.load(std::memory_order_acquire)) return make_error_code(errc::unavailable);
  checkpointer_->wait_if_due();
  const std::int64_t first_seq = last_seq_ + 1;
  counters totals = committed_;
  auto ec = write_group(group, first_seq, totals);
  if (!ec) ec = writer_->commit();
  if (ec) {
    writer_->rollback();
    // The rows of this group are gone, but the index and last_seq_ already saw them: the
    // file is suspect until a restart rebuilds both from it.
    fail(writer_->last_error());
    return make_error_code(errc::unavailable);
  }
  committed_ = totals;
  commits_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk(stats_mu_);
    stats_totals_ = totals;
    for (const auto& [topic, seqs] : topic_delta_) topic_counts_[topic] += seqs.size();
  }
  visible_seq_.store(last_seq_, std::memory_order_release);
  publish_index_size();
  if (last_seq_ >= first_seq)
    for (const auto& l : listeners_) l({first_seq, last_seq_});
  return {};
}

boost::system::error_code sqlite_store::write_group(std::span<const batch_entry> group,
                                                    std::int64_t first_seq, counters& totals) {
  if (auto ec = writer_->begin()) return ec;
  new_hashes_.clear();
  topic_delta_.clear();
  const std::string received_at = format_utc_ms(std::chrono::system_clock::now());
  for (const auto& entry : group) {
    entry.results->resize(entry.events.size());
    for (std::size_t i = 0; i < entry.events.size(); ++i) {
      if (i + index_lookahead < entry.events.size())
        index_.prefetch(entry.events[i + index_lookahead].key_hash);
      const event& e = entry.events[i];
      event_result& r = (*entry.results)[i];
      bool found = false;
      if (auto ec = decide(e, r, found)) return ec;
      ++totals.received;
      if (found) {
        ++totals.duplicate_dropped;
        if (r.status == event_status::conflict) ++totals.conflicts;
        continue;
      }
      r.seq = last_seq_ + 1;
      r.status = event_status::accepted;
      if (auto ec = writer_->insert(e, r.seq, received_at)) return ec;
      last_seq_ = r.seq;
      index_.insert(e.key_hash, r.seq);
      new_hashes_.push_back(e.key_hash);
      ++totals.unique_processed;
      auto t = topic_delta_.find(e.topic);
      if (t == topic_delta_.end()) t = topic_delta_.emplace(std::string(e.topic), seq_list{}).first;
      t->second.add(r.seq);
    }
  }
  if (!new_hashes_.empty())
    if (auto ec = writer_->add_key_block(first_seq, new_hashes_)) return ec;
  for (const auto& [topic, seqs] : topic_delta_)
    if (auto ec = writer_->add_topic(topic, seqs)) return ec;
  totals = with_rejected(totals);
  return writer_->save_counters(totals);
}

boost::system::error_code sqlite_store::decide(const event& e, event_result& r, bool& found) {
  // Confirm each candidate against the stored row: only an exact (topic, event_id) match is a
  // duplicate, so a hash collision can never drop an event.
  boost::system::error_code ec;
  found = index_.find(e.key_hash, [&](std::int64_t seq) {
    ec = writer_->load_key(seq, scratch_key_);
    if (ec) return true;
    if (scratch_key_.topic != e.topic || scratch_key_.event_id != e.event_id) return false;
    r.seq = seq;
    r.status = scratch_key_.content_hash == e.content_hash ? event_status::duplicate
                                                           : event_status::conflict;
    const auto age = unix_ms_now() - scratch_key_.received_ms;  // < 0: the clock stepped back
    metrics::process().duplicate_age.observe(
        static_cast<std::uint64_t>(std::max<std::int64_t>(age, 0)));
    return true;
  });
  return ec;
}

void sqlite_store::publish_index_size() noexcept {
  auto& m = metrics::process();
  m.dedup_entries.set(static_cast<std::int64_t>(index_.size()));
  m.dedup_bytes.set(static_cast<std::int64_t>(index_.memory_bytes()));
}

void sqlite_store::read_page(page_query q, page_handler done) {
  auto& slot = readers_[next_reader_.fetch_add(1, std::memory_order_relaxed) % readers_.size()];
  boost::asio::post(slot.strand,
                    [q = std::move(q), done = std::move(done), r = slot.reader.get()]() mutable {
                      std::vector<stored_event> rows;
                      rows.reserve(static_cast<std::size_t>(std::min<std::int64_t>(q.limit, 1024)));
                      const auto ec = r->events(q.topic, q.after, q.limit, rows);
                      done(ec, std::move(rows));
                    });
}

void sqlite_store::count_rejected(std::uint64_t invalid, std::uint64_t overloaded) noexcept {
  if (invalid) rejected_invalid_.fetch_add(invalid, std::memory_order_relaxed);
  if (overloaded) rejected_overloaded_.fetch_add(overloaded, std::memory_order_relaxed);
}

counters sqlite_store::with_rejected(counters c) const noexcept {
  c.rejected_invalid = rejected_invalid_.load(std::memory_order_relaxed);
  c.rejected_overloaded = rejected_overloaded_.load(std::memory_order_relaxed);
  return c;
}

store_stats sqlite_store::stats() const {
  store_stats s;
  {
    std::lock_guard lk(stats_mu_);
    s.totals = stats_totals_;
    s.topic_counts.assign(topic_counts_.begin(), topic_counts_.end());
  }
  // The rejected counts are live, not as of the last commit.
  s.totals = with_rejected(s.totals);
  return s;
}

std::string sqlite_store::failure() const {
  std::lock_guard lk(stats_mu_);
  return failure_;
}

void sqlite_store::fail(const std::string& why) {
  {
    std::lock_guard lk(stats_mu_);
    if (failure_.empty()) failure_ = why;
  }
  failed_.store(true, std::memory_order_release);
}

void sqlite_store::close() noexcept {
  read_pool_.join();
  if (!writer_) return;
  if (!failed_.load(std::memory_order_acquire)) {
    // Persist the rejected counters, which change without a commit of events.
    const counters totals = with_rejected(committed_);
    if (writer_->begin() || writer_->save_counters(totals) || writer_->commit())
      writer_->rollback();
  }
  // Its connection closes first: the writer's, the last, then removes the WAL and shm files.
  checkpointer_.reset();
  if (!failed_.load(std::memory_order_acquire)) writer_->checkpoint();
  readers_.clear();
  writer_.reset();
}

}  // namespace agg::store
