#pragma once

#include "core/event.hpp"
#include "core/options.hpp"
#include "store/event_store.hpp"
#include "store/seq_list.hpp"
#include "store/statement.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace agg::store {

// What a duplicate is compared against: the identity and content hash of a stored event.
struct stored_key {
  std::string topic;
  std::string event_id;
  std::uint64_t content_hash = 0;
  std::int64_t received_ms = 0;  // received_at in Unix milliseconds
};

// What start-up recovers from the file before the first request.
struct recovered_state {
  std::int64_t max_seq = 0;
  counters totals;
  std::vector<std::pair<std::string, std::uint64_t>> topic_counts;  // sorted by topic
};

// The write side of the SQLite file (WAL mode): schema, prepared statements, recovery. One
// connection, used by one thread at a time (sqlite_store's writer). Events go to an
// append-only rowid table (seq = rowid), so a commit touches the table's last pages only
// (and one topic_blocks row per topic for /events?topic=);
// identity is checked by sqlite_store's in-memory index, rebuilt at start-up from one packed
// row of key hashes per commit.
class sqlite_writer {
 public:
  // Opens or creates `path` (and its folder). Throws std::runtime_error with a clear message
  // when the file is not a SQLite database or belongs to another application: never resets it.
  static std::unique_ptr<sqlite_writer> open(const std::string& path, sync_mode sync);
  ~sqlite_writer();

  sqlite_writer(const sqlite_writer&) = delete;
  sqlite_writer& operator=(const sqlite_writer&) = delete;

  const std::string& path() const noexcept { return path_; }

  // Reads counters and topics; calls on_start(max_seq) once (to size the index), then
  // on_key(seq, key_hash) for every stored event in seq order. Throws on a read error.
  recovered_state recover(const std::function<void(std::int64_t)>& on_start,
                          const std::function<void(std::int64_t, std::uint64_t)>& on_key);

  // Write transaction. Each returns an error whose text is in last_error().
  boost::system::error_code begin();
  boost::system::error_code insert(const event& e, std::int64_t seq, std::string_view received_at);
  // The key hashes of the events this transaction stored, seqs first_seq, first_seq + 1, ...
  boost::system::error_code add_key_block(std::int64_t first_seq,
                                          const std::vector<std::uint64_t>& hashes);
  boost::system::error_code load_key(std::int64_t seq, stored_key& out);
  // The seqs this transaction stored under `topic` (not empty): its count and its block.
  boost::system::error_code add_topic(std::string_view topic, const seq_list& seqs);
  boost::system::error_code save_counters(const counters& c);
  boost::system::error_code commit();
  void rollback() noexcept;

  const std::string& last_error() const noexcept { return error_; }

  // Checkpoints the WAL into the database file (TRUNCATE), e.g. at clean shutdown.
  void checkpoint() noexcept;

  // Hands checkpoints to another connection (sqlite_checkpointer): SQLite's automatic
  // checkpoint inside COMMIT is turned off, and after each commit, on this thread,
  // on_commit(frames now in the WAL) is called instead. A WAL file found longer than
  // max_wal_bytes when SQLite starts it again is cut back to that size. An empty on_commit
  // gives the automatic checkpoint back.
  void hand_checkpoints_to(std::function<void(int)> on_commit, std::int64_t max_wal_bytes);

 private:
  sqlite_writer(std::string path, sqlite3* db);
  void prepare();

  std::string path_;
  sqlite3* db_ = nullptr;
  std::string error_;
  std::string block_;  // scratch for add_key_block
  std::function<void(int)> on_commit_;
  statement begin_, commit_, rollback_, insert_event_, insert_block_, select_key_,
      insert_topic_block_, upsert_topic_, update_counters_;
};

}  // namespace agg::store
