#include "store/sqlite_writer.hpp"

#include "store/instance_lock.hpp"
#include "store/seq_list.hpp"

#include <filesystem>
#include <stdexcept>

namespace agg::store {
namespace {

// PRAGMA application_id of our files ("AGG1"): tells our database from a foreign one.
constexpr std::int64_t application_id = 0x41474731;
// 2: the per-event index events_by_topic replaced by topic_blocks (one row per topic and
// commit); a version-1 file is upgraded in place when it is opened (upgrade_from_1).
constexpr int schema_version = 2;

constexpr const char* schema = R"sql(
CREATE TABLE events(
  seq          INTEGER PRIMARY KEY,  -- rowid: appends touch only the table's last pages
  topic        TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  timestamp    TEXT NOT NULL,        -- exactly as sent
  source       TEXT NOT NULL,
  payload      TEXT NOT NULL,        -- compact JSON
  received_at  TEXT NOT NULL,
  content_hash INTEGER NOT NULL      -- hash of (timestamp, source, payload) to detect conflicts
);
-- The identity hashes of each commit's new events, packed 8 bytes (little-endian) per event
-- for seqs first_seq, first_seq + 1, ...: one row per commit instead of one per event, and
-- start-up rebuilds the dedup index from these few rows, not the wide events table.
CREATE TABLE key_blocks(first_seq INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
CREATE TABLE counters(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  received INTEGER NOT NULL, unique_processed INTEGER NOT NULL,
  duplicate_dropped INTEGER NOT NULL, conflicts INTEGER NOT NULL,
  rejected_invalid INTEGER NOT NULL, rejected_overloaded INTEGER NOT NULL);
INSERT INTO counters VALUES (1, 0, 0, 0, 0, 0, 0);
CREATE TABLE topics(topic TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// /events?topic=: the seqs each commit stored under each topic (store/seq_list.hpp), one row
// per topic and commit, found by (topic, last_seq). It replaced an index on events(topic,
// seq), which cost one more B-tree insert per event: about a fifth of the writer's time under
// batches of 1000.
constexpr const char* topic_blocks_schema = R"sql(
CREATE TABLE topic_blocks(topic TEXT NOT NULL, last_seq INTEGER NOT NULL,
                          first_seq INTEGER NOT NULL, gaps BLOB NOT NULL,
                          PRIMARY KEY (topic, last_seq)) WITHOUT ROWID;
)sql";

// Most seqs in one topic_blocks row written by the upgrade (a commit writes at most
// --batch-max): a page of /events?topic= decodes at most one such row beyond what it needs.
constexpr std::uint64_t upgrade_block_seqs = 4096;

std::int64_t pragma_int(sqlite3* db, const char* sql, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  std::int64_t v = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  }
  const std::string msg = sqlite3_errmsg(db);
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_NOTADB)
      throw std::runtime_error("--db " + path + " is not a SQLite database (" + msg + ")");
    if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY)
      throw std::runtime_error("cannot open --db " + path + " for writing (" + msg +
                               "): the file and its folder must be writable");
    throw std::runtime_error("cannot read --db " + path + ": " + msg);
  }
  return v;
}

void must(boost::system::error_code ec, const std::string& message) {
  if (ec) throw std::runtime_error(message);
}

constexpr const char* insert_topic_block_sql =
    "INSERT INTO topic_blocks(topic, last_seq, first_seq, gaps) VALUES (?1, ?2, ?3, ?4)";

// One row of topic_blocks: seqs of one topic, from one commit or from the upgrade.
void bind_topic_block(statement& s, std::string_view topic, const seq_list& seqs) {
  s.bind(1, topic);
  s.bind(2, seqs.last());
  s.bind(3, seqs.first());
  s.bind_blob(4, seqs.gaps());
}

// Version 1 indexed events(topic, seq); version 2 keeps topic_blocks instead. One transaction:
// a crash during the upgrade leaves the file at version 1, upgraded again at the next start.
// The old index gives the seqs in (topic, seq) order, written as blocks of up to
// upgrade_block_seqs; then the index is dropped (its pages become free pages of the file).
void upgrade_from_1(sqlite3* db, const std::string& path) {
  const std::string failed = "cannot upgrade --db " + path + " to schema version 2: ";
  std::string msg;
  must(exec(db, "BEGIN IMMEDIATE", &msg), failed + msg);
  try {
    // Another process may have upgraded the file while this one waited for the write lock.
    if (pragma_int(db, "PRAGMA user_version", path) == 1) {
      must(exec(db, topic_blocks_schema, &msg), failed + msg);
      statement read(db, "SELECT topic, seq FROM events ORDER BY topic, seq");
      statement write(db, insert_topic_block_sql);
      std::string topic;
      seq_list seqs;
      auto flush = [&] {
        if (seqs.size() == 0) return;
        bind_topic_block(write, topic, seqs);
        must(check(write.step(), db, "write topic block", &msg), failed + msg);
        write.reset();
        seqs = {};
      };
      int rc;
      while ((rc = read.step()) == SQLITE_ROW) {
        if (read.column_text(0) != topic || seqs.size() == upgrade_block_seqs) {
          flush();
          topic.assign(read.column_text(0));
        }
        seqs.add(read.column_int(1));
      }
      must(check(rc, db, "read events", &msg), failed + msg);
      flush();
      must(exec(db, "DROP INDEX events_by_topic; PRAGMA user_version = 2", &msg), failed + msg);
    }
    must(exec(db, "COMMIT", &msg), failed + msg);
  } catch (...) {
    exec(db, "ROLLBACK", nullptr);
    throw;
  }
}

}  // namespace

std::unique_ptr<sqlite_writer> sqlite_writer::open(const std::string& path, sync_mode sync) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      throw std::runtime_error("cannot create folder " + p.parent_path().string() + ": " +
                               ec.message());
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw std::runtime_error("cannot open --db " + path + ": " + msg);
  }
  std::unique_ptr<sqlite_writer> s(new sqlite_writer(path, db));
  std::string msg;
  bool upgrade = false;

  // Reading the schema is the first touch of the file: a foreign file fails here.
  // Any schema object (table, view, index, trigger) means the file is somebody's database.
  const std::int64_t objects = pragma_int(db, "SELECT count(*) FROM sqlite_master", path);
  const std::int64_t app = pragma_int(db, "PRAGMA application_id", path);
  if (objects == 0 && app == 0) {
    must(exec(db, "BEGIN IMMEDIATE", &msg), "cannot initialise --db " + path + ": " + msg);
    must(exec(db, schema, &msg), "cannot initialise --db " + path + ": " + msg);
    must(exec(db, topic_blocks_schema, &msg), "cannot initialise --db " + path + ": " + msg);
    const std::string pragmas = "PRAGMA application_id = " + std::to_string(application_id) +
                                "; PRAGMA user_version = " + std::to_string(schema_version);
    must(exec(db, pragmas.c_str(), &msg), "cannot initialise --db " + path + ": " + msg);
    must(exec(db, "COMMIT", &msg), "cannot initialise --db " + path + ": " + msg);
  } else if (app != application_id) {
    throw std::runtime_error("--db " + path +
                             " is a SQLite database of another application (application_id " +
                             std::to_string(app) + "); refusing to touch it");
  } else if (const auto v = pragma_int(db, "PRAGMA user_version", path);
             v != schema_version && v != 1) {
    throw std::runtime_error("--db " + path + " has schema version " + std::to_string(v) +
                             ", this build reads version " + std::to_string(schema_version));
  } else {
    upgrade = v == 1;
  }

  {
    statement wal(db, "PRAGMA journal_mode = WAL");
    if (wal.step() != SQLITE_ROW || wal.column_text(0) != "wal")
      throw std::runtime_error("cannot switch --db " + path +
                               " to WAL mode: " + sqlite3_errmsg(db));
  }
  const char* sync_sql =
      sync == sync_mode::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
  must(exec(db, sync_sql, &msg), "cannot configure --db " + path + ": " + msg);
  // 16 MiB page cache: the tails of the events table and of topic_blocks, and the rows of
  // recent events (what duplicates are confirmed against), stay hot. 64 MiB cost the writer
  // about 6% more CPU under batches (filling it is a malloc and page faults per page) and
  // 50 MB more memory, and older rows are read from the OS cache either way.
  // Checkpoints inside a commit fsync the WAL and the database file while all queued requests
  // wait (50-500 ms on a real disk): sqlite_store hands them to a checkpointer on its own
  // connection (hand_checkpoints_to). A writer used alone, e.g. by a short command, keeps
  // SQLite's automatic checkpoint, every 8192 WAL pages (32 MiB) rather than 1000.
  must(exec(db,
            "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = "
            "8192",
            &msg),
       "cannot configure --db " + path + ": " + msg);
  // Readers may hold the WAL briefly during a checkpoint; wait rather than fail.
  sqlite3_busy_timeout(db, 5000);
  if (upgrade) {
    // A server of an older build still serving the file would go on writing version-1 rows
    // (no topic_blocks), and topic pages would then miss its events: upgrade only a file that
    // no server holds. Every server holds its file's instance lock while it runs.
    std::unique_ptr<instance_lock> held;
    try {
      held = std::make_unique<instance_lock>(path);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(std::string(e.what()) +
                               " (it has schema version 1: this build upgrades it to version 2 "
                               "once no other aggregator serves it)");
    }
    upgrade_from_1(db, path);
  }
  s->prepare();
  return s;
}

sqlite_writer::sqlite_writer(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

sqlite_writer::~sqlite_writer() {
  // Statements must be finalised before the connection closes.
  begin_ = {};
  commit_ = {};
  rollback_ = {};
  insert_event_ = {};
  insert_block_ = {};
  select_key_ = {};
  insert_topic_block_ = {};
  upsert_topic_ = {};
  update_counters_ = {};
  sqlite3_close(db_);
}

void sqlite_writer::prepare() {
  begin_ = statement(db_, "BEGIN IMMEDIATE");
  commit_ = statement(db_, "COMMIT");
  rollback_ = statement(db_, "ROLLBACK");
  insert_event_ = statement(db_,
                            "INSERT INTO events(seq, topic, event_id, timestamp, source, payload, "
                            "received_at, content_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  insert_block_ = statement(db_, "INSERT INTO key_blocks(first_seq, hashes) VALUES (?1, ?2)");
  // received_at as Unix milliseconds, for agg_duplicate_age_seconds.
  select_key_ = statement(db_,
                          "SELECT topic, event_id, content_hash, CAST(round((julianday("
                          "received_at) - 2440587.5) * 86400000.0) AS INTEGER) FROM events "
                          "WHERE seq = ?1");
  insert_topic_block_ = statement(db_, insert_topic_block_sql);
  upsert_topic_ = statement(db_,
                            "INSERT INTO topics(topic, count) VALUES (?1, ?2) "
                            "ON CONFLICT(topic) DO UPDATE SET count = count + excluded.count");
  update_counters_ = statement(db_,
                               "UPDATE counters SET received = ?1, unique_processed = ?2, "
                               "duplicate_dropped = ?3, conflicts = ?4, rejected_invalid = ?5, "
                               "rejected_overloaded = ?6 WHERE id = 1");
}

recovered_state sqlite_writer::recover(
    const std::function<void(std::int64_t)>& on_start,
    const std::function<void(std::int64_t, std::uint64_t)>& on_key) {
  recovered_state r;
  std::string msg;
  {
    statement s(db_, "SELECT coalesce(max(seq), 0) FROM events");
    const int rc = s.step();
    must(check(rc, db_, "recover", &msg), "cannot read --db " + path_ + ": " + msg);
    r.max_seq = s.column_int(0);
    on_start(r.max_seq);
  }
  {
    statement s(db_, "SELECT first_seq, hashes FROM key_blocks ORDER BY first_seq");
    std::int64_t next = 1;  // blocks cover seqs 1..max_seq without gaps
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      const std::string_view blob = s.column_blob(1);
      if (s.column_int(0) != next || blob.size() % 8 != 0)
        throw std::runtime_error("--db " + path_ + " is damaged: key block at seq " +
                                 std::to_string(s.column_int(0)) + " does not follow seq " +
                                 std::to_string(next - 1));
      for (std::size_t i = 0; i < blob.size(); i += 8) {
        std::uint64_t h = 0;
        for (std::size_t b = 0; b < 8; ++b)
          h |= std::uint64_t{static_cast<unsigned char>(blob[i + b])} << (8 * b);
        on_key(next++, h);
      }
    }
    must(check(rc, db_, "recover keys", &msg), "cannot read --db " + path_ + ": " + msg);
    if (next - 1 != r.max_seq)
      throw std::runtime_error("--db " + path_ + " is damaged: key blocks end at seq " +
                               std::to_string(next - 1) + ", events at seq " +
                               std::to_string(r.max_seq));
  }
  {
    statement s(db_,
                "SELECT received, unique_processed, duplicate_dropped, conflicts, "
                "rejected_invalid, rejected_overloaded FROM counters WHERE id = 1");
    const int rc = s.step();
    if (rc != SQLITE_ROW) {
      must(check(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, db_, "recover counters", &msg),
           "cannot read --db " + path_ + ": " + msg);
    }
    auto u = [&](int i) { return static_cast<std::uint64_t>(s.column_int(i)); };
    r.totals = {u(0), u(1), u(2), u(3), u(4), u(5)};
  }
  {
    statement s(db_, "SELECT topic, count FROM topics ORDER BY topic");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
      r.topic_counts.emplace_back(std::string(s.column_text(0)),
                                  static_cast<std::uint64_t>(s.column_int(1)));
    must(check(rc, db_, "recover topics", &msg), "cannot read --db " + path_ + ": " + msg);
  }
  return r;
}

boost::system::error_code sqlite_writer::begin() {
  auto ec = check(begin_.step(), db_, "begin", &error_);
  begin_.reset();
  return ec;
}

boost::system::error_code sqlite_writer::insert(const event& e, std::int64_t seq,
                                                std::string_view received_at) {
  auto& s = insert_event_;
  s.bind(1, seq);
  s.bind(2, e.topic);
  s.bind(3, e.event_id);
  s.bind(4, e.timestamp);
  s.bind(5, e.source);
  s.bind(6, e.payload);
  s.bind(7, received_at);
  s.bind(8, static_cast<std::int64_t>(e.content_hash));
  auto ec = check(s.step(), db_, "insert event", &error_);
  s.reset();
  return ec;
}

boost::system::error_code sqlite_writer::add_key_block(std::int64_t first_seq,
                                                       const std::vector<std::uint64_t>& hashes) {
  block_.resize(hashes.size() * 8);
  for (std::size_t i = 0; i < hashes.size(); ++i)
    for (std::size_t b = 0; b < 8; ++b)
      block_[i * 8 + b] = static_cast<char>((hashes[i] >> (8 * b)) & 0xff);
  insert_block_.bind(1, first_seq);
  insert_block_.bind_blob(2, block_);
  auto ec = check(insert_block_.step(), db_, "insert key block", &error_);
  insert_block_.reset();
  return ec;
}

boost::system::error_code sqlite_writer::load_key(std::int64_t seq, stored_key& out) {
  select_key_.bind(1, seq);
  const int rc = select_key_.step();
  boost::system::error_code ec;
  if (rc == SQLITE_ROW) {
    out.topic.assign(select_key_.column_text(0));
    out.event_id.assign(select_key_.column_text(1));
    out.content_hash = static_cast<std::uint64_t>(select_key_.column_int(2));
    out.received_ms = select_key_.column_int(3);
  } else {
    // The in-memory index points only at stored rows: a missing one means a corrupt file.
    ec = check(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, db_, "load key", &error_);
  }
  select_key_.reset();
  return ec;
}

boost::system::error_code sqlite_writer::add_topic(std::string_view topic, const seq_list& seqs) {
  upsert_topic_.bind(1, topic);
  upsert_topic_.bind(2, static_cast<std::int64_t>(seqs.size()));
  auto ec = check(upsert_topic_.step(), db_, "update topic", &error_);
  upsert_topic_.reset();
  if (ec) return ec;
  bind_topic_block(insert_topic_block_, topic, seqs);
  ec = check(insert_topic_block_.step(), db_, "insert topic block", &error_);
  insert_topic_block_.reset();
  return ec;
}

boost::system::error_code sqlite_writer::save_counters(const counters& c) {
  auto& s = update_counters_;
  s.bind(1, static_cast<std::int64_t>(c.received));
  s.bind(2, static_cast<std::int64_t>(c.unique_processed));
  s.bind(3, static_cast<std::int64_t>(c.duplicate_dropped));
  s.bind(4, static_cast<std::int64_t>(c.conflicts));
  s.bind(5, static_cast<std::int64_t>(c.rejected_invalid));
  s.bind(6, static_cast<std::int64_t>(c.rejected_overloaded));
  auto ec = check(s.step(), db_, "update counters", &error_);
  s.reset();
  return ec;
}

boost::system::error_code sqlite_writer::commit() {
  auto ec = check(commit_.step(), db_, "commit", &error_);
  commit_.reset();
  return ec;
}

void sqlite_writer::rollback() noexcept {
  if (sqlite3_get_autocommit(db_)) return;  // SQLite already rolled back (e.g. after SQLITE_FULL)
  rollback_.step();
  rollback_.reset();
}

void sqlite_writer::hand_checkpoints_to(std::function<void(int)> on_commit,
                                        std::int64_t max_wal_bytes) {
  on_commit_ = std::move(on_commit);
  if (!on_commit_) {
    sqlite3_wal_autocheckpoint(db_, 8192);
    return;
  }
  // Replaces the automatic checkpoint, itself a wal hook.
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<sqlite_writer*>(self)->on_commit_(pages);
        return SQLITE_OK;
      },
      this);
  const std::string limit = "PRAGMA journal_size_limit = " + std::to_string(max_wal_bytes);
  exec(db_, limit.c_str(), nullptr);
}

void sqlite_writer::checkpoint() noexcept {
  sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
}

}  // namespace agg::store
