#include "store/pg_store.hpp"

#include "store/pg_connection.hpp"

#include "core/clock.hpp"
#include "core/errc.hpp"

#include <boost/asio/post.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace agg::store {
namespace {

// After the last follower is gone a node keeps listening this long: long polls come and go.
constexpr std::chrono::seconds unlisten_after{5};

// Key of the advisory lock that serialises schema creation ("AGG1", as SQLite's application_id).
constexpr const char* schema_lock = "SELECT pg_advisory_xact_lock(1095190321)";
constexpr const char* application = "event-aggregator";
// 2 added agg_commit_group (the tables are those of 1): see commit_function. 3 redefined it to
// look keys up by index whatever the table's size when its plan was made; the tables are
// still those of 1, so both migrations are the function alone.
constexpr const char* schema_version = "3";

// Names carry the agg_ prefix so the tables can share a database (and its public schema) with
// other applications; agg_meta tells our tables from foreign ones of the same names.
constexpr const char* schema = R"sql(
CREATE TABLE agg_meta(key text PRIMARY KEY, value text NOT NULL);
COMMENT ON TABLE agg_meta IS 'Event Aggregator: application and schema_version of these agg_ tables; nodes refuse a database whose agg_ tables lack it';
INSERT INTO agg_meta VALUES ('application', 'event-aggregator'), ('schema_version', '3');
CREATE TABLE agg_events(
  seq          bigint PRIMARY KEY,
  topic        text NOT NULL,
  event_id     text NOT NULL,
  timestamp    text NOT NULL,
  source       text NOT NULL,
  payload      text NOT NULL,
  received_at  text NOT NULL,
  content_hash bigint NOT NULL,
  CONSTRAINT agg_events_key UNIQUE (topic, event_id));
COMMENT ON TABLE agg_events IS 'Event Aggregator: every stored event once; (topic, event_id) is the identity shared by all nodes';
COMMENT ON COLUMN agg_events.seq IS 'assigned as agg_counters.last_seq + 1, ... under the counter row lock: unique, gap-free, visible in ascending order';
COMMENT ON COLUMN agg_events.timestamp IS 'exactly as the publisher sent it';
COMMENT ON COLUMN agg_events.payload IS 'compact JSON text';
COMMENT ON COLUMN agg_events.content_hash IS 'hash of (timestamp, source, payload as a JSON value): a duplicate with another hash is a conflict';
CREATE INDEX agg_events_by_topic ON agg_events(topic, seq);
CREATE TABLE agg_counters(
  id                  int PRIMARY KEY CHECK (id = 1),
  last_seq            bigint NOT NULL,
  received            bigint NOT NULL,
  unique_processed    bigint NOT NULL,
  duplicate_dropped   bigint NOT NULL,
  conflicts           bigint NOT NULL,
  rejected_invalid    bigint NOT NULL,
  rejected_overloaded bigint NOT NULL);
COMMENT ON TABLE agg_counters IS 'Event Aggregator: the /stats counters of all nodes; every commit locks this row first, which orders commits and seqs';
INSERT INTO agg_counters VALUES (1, 0, 0, 0, 0, 0, 0, 0);
CREATE TABLE agg_topics(topic text PRIMARY KEY, count bigint NOT NULL);
COMMENT ON TABLE agg_topics IS 'Event Aggregator: stored events per topic, changed with the events';
)sql";

// A group's whole commit in one statement, so it costs one round trip, run in autocommit: the
// statement's own transaction commits before the answer comes back. The counter-row lock is
// held for the server-side work and the commit flush only; when the client drove the
// transaction (BEGIN + lock, lookup, write, COMMIT) it was held across four round trips, and
// every other node's commit queued behind them (issue 12: 2 and 3 nodes slower than 1).
//  - The lock is taken by a statement of its own: the next statement gets a fresh snapshot
//    (READ COMMITTED), which sees every commit made before the lock was granted, so the
//    lookup of the group's keys is authoritative.
//  - p_firsts[i] is the 1-based position of the first copy of event i's key in the group (i
//    itself for a first copy), found by the node: the first copy of a key not stored yet is
//    accepted; a later copy is a duplicate or conflict against it by content hash, and a copy
//    of a stored key against the stored row, as with SQLite.
//  - The keys are looked up one by one in agg_events_key (a LATERAL subquery, with sequential
//    scans off for the function): PL/pgSQL caches a statement's plan for the session, and
//    one made while the table was small (a new database: every node's first commits) joined
//    by hashing the whole table, so each later commit read every stored row (3 nodes, 30k
//    rows: 3.2 ms of PostgreSQL CPU per commit, 1.0 ms with the index; issue 12).
//  - New events are numbered last_seq + 1, ... in group order; topic counts and counters
//    change with them; NOTIFY as before (only when something new became visible).
// Returns the counter row's last_seq after this commit, per event in group order its seq and
// status ('a' accepted, 'd' duplicate, 'c' conflict), and whether another transaction held
// the lock when it asked (SKIP LOCKED tells without a clock: see take_turn()).
// Nodes of schema version 1 run the same steps from the client under the same lock, so a
// node of either build may share the database while the cluster is upgraded.
constexpr const char* commit_function = R"sql(
CREATE OR REPLACE FUNCTION agg_commit_group(
    p_topics text[], p_ids text[], p_firsts int[], p_hashes bigint[], p_timestamps text[],
    p_sources text[], p_payloads text[], p_received_at text,
    OUT last_seq_after bigint, OUT seqs bigint[], OUT statuses text, OUT contended boolean)
LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  v_last bigint;
  v_new bigint;
  v_conflicts bigint;
BEGIN
  PERFORM 1 FROM agg_counters c WHERE c.id = 1 FOR UPDATE SKIP LOCKED;
  contended := NOT FOUND;
  SELECT c.last_seq INTO STRICT v_last FROM agg_counters c WHERE c.id = 1 FOR UPDATE;
  WITH r AS (
    SELECT u.ord, u.topic, u.event_id, u.first, u.hash, u.ts, u.src, u.payload,
           e.seq AS old_seq, e.content_hash AS old_hash
    FROM unnest(p_topics, p_ids, p_firsts, p_hashes, p_timestamps, p_sources, p_payloads)
         WITH ORDINALITY AS u(topic, event_id, first, hash, ts, src, payload, ord)
    LEFT JOIN LATERAL (SELECT s.seq, s.content_hash FROM agg_events s
                       WHERE s.topic = u.topic AND s.event_id = u.event_id LIMIT 1) e ON true),
  fresh AS (
    SELECT r.ord, r.topic, r.event_id, r.hash, r.ts, r.src, r.payload,
           v_last + row_number() OVER (ORDER BY r.ord) AS seq
    FROM r WHERE r.old_seq IS NULL AND r.first = r.ord),
  ins AS (
    INSERT INTO agg_events(seq, topic, event_id, timestamp, source, payload, received_at,
                           content_hash)
    SELECT f.seq, f.topic, f.event_id, f.ts, f.src, f.payload, p_received_at, f.hash
    FROM fresh f),
  counted AS (
    INSERT INTO agg_topics(topic, count) SELECT f.topic, count(*) FROM fresh f GROUP BY f.topic
    ON CONFLICT (topic) DO UPDATE SET count = agg_topics.count + excluded.count),
  res AS (
    SELECT r.ord, coalesce(r.old_seq, f.seq) AS seq,
           CASE WHEN r.old_seq IS NULL AND r.ord = r.first THEN 'a'
                WHEN r.hash = coalesce(r.old_hash, f.hash) THEN 'd' ELSE 'c' END AS status
    FROM r LEFT JOIN fresh f ON r.old_seq IS NULL AND f.ord = r.first)
  SELECT array_agg(res.seq ORDER BY res.ord), string_agg(res.status, '' ORDER BY res.ord),
         count(*) FILTER (WHERE res.status = 'a'), count(*) FILTER (WHERE res.status = 'c')
  INTO seqs, statuses, v_new, v_conflicts FROM res;
  last_seq_after := v_last + v_new;
  UPDATE agg_counters SET last_seq = last_seq_after,
         received = received + cardinality(p_topics), unique_processed = unique_processed + v_new,
         duplicate_dropped = duplicate_dropped + cardinality(p_topics) - v_new,
         conflicts = conflicts + v_conflicts
   WHERE id = 1;
  IF v_new > 0 THEN
    PERFORM pg_notify('agg_commit', last_seq_after::text);
  END IF;
END
$fn$;
COMMENT ON FUNCTION agg_commit_group IS 'Event Aggregator: one group commit of a node (dedup, seq, counters) in one statement, so the counter row is locked for no client round trip';
CREATE OR REPLACE FUNCTION agg_take_turn(OUT contended boolean) LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM 1 FROM agg_counters WHERE id = 1 FOR UPDATE SKIP LOCKED;
  contended := NOT FOUND;
  IF contended THEN
    PERFORM 1 FROM agg_counters WHERE id = 1 FOR UPDATE;
  END IF;
END
$fn$;
COMMENT ON FUNCTION agg_take_turn IS 'Event Aggregator: locks the counter row in an open transaction (a node waiting for its turn while it gathers its group)';
)sql";
constexpr const char* commit_sql =
    "SELECT last_seq_after, seqs, statuses, contended FROM agg_commit_group($1::text[], "
    "$2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8)";
// One statement, so counters and topics come from one snapshot.
constexpr const char* stats_sql =
    "SELECT c.received, c.unique_processed, c.duplicate_dropped, c.conflicts, "
    "c.rejected_invalid, c.rejected_overloaded, t.topic, t.count "
    "FROM agg_counters c LEFT JOIN agg_topics t ON true ORDER BY t.topic COLLATE \"C\"";

std::int64_t int_at(PGresult* r, int row, int col) {
  return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

std::string text_at(PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

std::int64_t query_last_seq(pg_connection& c, bool& ok) {
  auto r = c.exec("SELECT last_seq FROM agg_counters WHERE id = 1");
  ok = r && PQntuples(r.get()) == 1;
  return ok ? int_at(r.get(), 0, 0) : 0;
}

}  // namespace

std::unique_ptr<pg_store> pg_store::open(const std::string& uri, settings s) {
  return std::unique_ptr<pg_store>(new pg_store(uri, s));
}

pg_store::pg_store(std::string uri, settings s)
    : uri_(std::move(uri)), read_pool_(std::max<std::size_t>(1, s.readers)) {
  std::string error;
  writer_ = pg_connection::connect(uri_, {}, error);
  if (!writer_)
    throw std::runtime_error("cannot connect to PostgreSQL --db " + redact_uri(uri_) + ": " +
                             error);
  create_schema();
  bool ok = false;
  announced_ = query_last_seq(*writer_, ok);
  visible_seq_.store(announced_, std::memory_order_release);
  if (!ok)
    throw std::runtime_error("cannot read --db " + redact_uri(uri_) + ": " + writer_->error());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, s.readers); ++i)
    readers_.push_back(std::make_unique<reader_slot>(
        reader_slot{boost::asio::make_strand(read_pool_.get_executor()), nullptr}));
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error("cannot create an eventfd for the monitor");
  monitor_ = std::thread([this] { monitor_loop(); });
}

pg_store::~pg_store() {
  close();
  // Here, not in close(): a follower may still end between the two.
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void pg_store::create_schema() {
  const std::string where = "--db " + redact_uri(uri_);
  auto must = [&](bool ok) {
    if (!ok)
      throw std::runtime_error("cannot set up the schema in " + where + ": " + writer_->error());
  };
  // Nodes starting together queue on the advisory lock: the first creates, the rest check.
  must(writer_->run("BEGIN"));
  must(writer_->run(schema_lock));
  auto present = writer_->exec(
      "SELECT to_regclass('agg_meta') IS NOT NULL, "
      "to_regclass('agg_events') IS NOT NULL OR to_regclass('agg_counters') IS NOT "
      "NULL OR to_regclass('agg_topics') IS NOT NULL");
  must(present != nullptr);
  const bool has_meta = PQgetvalue(present.get(), 0, 0)[0] == 't';
  const bool has_tables = PQgetvalue(present.get(), 0, 1)[0] == 't';
  if (has_meta) {
    auto meta = writer_->exec("SELECT key, value FROM agg_meta");
    must(meta != nullptr);
    std::map<std::string, std::string> kv;
    for (int i = 0; i < PQntuples(meta.get()); ++i)
      kv[text_at(meta.get(), i, 0)] = text_at(meta.get(), i, 1);
    if (kv["application"] != application)
      throw std::runtime_error(where + " has a table agg_meta of another application (" +
                               kv["application"] + "); refusing to touch it");
    if (kv["schema_version"] == "1" || kv["schema_version"] == "2") {
      // Versions 1 and 2 have the same tables: (re)defining the functions is the whole
      // migration. Done under the advisory lock, so nodes starting together migrate once;
      // nodes of an older build already running keep committing (version 1 nodes their way,
      // version 2 nodes through the redefined function, which gives the same outcomes).
      must(writer_->run(commit_function));
      must(writer_->run("UPDATE agg_meta SET value = $1 WHERE key = 'schema_version'",
                        {schema_version}));
    } else if (kv["schema_version"] != schema_version) {
      throw std::runtime_error(where + " has schema version " + kv["schema_version"] +
                               ", this build reads version " + schema_version);
    }
  } else if (has_tables) {
    throw std::runtime_error(where +
                             " has agg_ tables without agg_meta: they belong to another "
                             "application; refusing to touch them");
  } else {
    must(writer_->run(schema));
    must(writer_->run(commit_function));
  }
  must(writer_->run("COMMIT"));
}

bool pg_store::take_turn() {
  if (!contended_ || !writable() || !writer_ || !writer_->alive()) return false;
  // The lock is held from here to the commit: the caller gathers its group meanwhile, which
  // costs microseconds (idle_in_transaction_session_timeout is 5 s).
  auto r = writer_->exec("BEGIN; SELECT contended FROM agg_take_turn()");
  if (!r || PQntuples(r.get()) != 1) {
    // Nothing was written: commit() goes the one-statement way (and finds a lost connection).
    writer_->rollback();
    contended_ = false;
    return false;
  }
  contended_ = PQgetvalue(r.get(), 0, 0)[0] == 't';
  turn_held_ = true;
  return true;
}

boost::system::error_code pg_store::commit(std::span<const batch_entry> group) {
  const bool in_turn = std::exchange(turn_held_, false);
  if (!writable()) {
    if (in_turn) writer_->rollback();
    return make_error_code(errc::unavailable);
  }
  // A connection found dead before the statement is sent (the usual case after the server
  // restarted while this node was idle: its goodbye is waiting on the socket) is made again;
  // nothing was sent on it, so nothing changed.
  if (!in_turn && (!writer_ || !writer_->alive())) {
    std::string error;
    writer_ = pg_connection::connect(uri_, {}, error);
    if (!writer_) {
      mark_down("PostgreSQL unreachable: " + error);
      return make_error_code(errc::unavailable);
    }
  }
  std::int64_t last_seq = 0;
  const auto ec = write_group(group, in_turn, last_seq);
  if (!ec) {
    commits_.fetch_add(1, std::memory_order_relaxed);
    announce(last_seq);
    return {};
  }
  // The statement was sent. A failed statement rolled its transaction back, but with the
  // connection lost before the answer the outcome is unknown: the group may have committed.
  // Either way the requests get 503 unavailable and are not tried again here; publishers
  // retry, and the unique key makes a committed copy a duplicate then.
  writer_->rollback();  // a failed turn's transaction is still open
  contended_ = false;
  mark_down((writer_->broken() ? "lost the connection to PostgreSQL: " : "commit failed: ") +
            writer_->error());
  return ec;
}

boost::system::error_code pg_store::write_group(std::span<const batch_entry> group, bool in_turn,
                                                std::int64_t& last_seq) {
  // The group in arrays, one element per event in group order, with the position of the
  // first copy of each key (the function judges later copies against it).
  firsts_.clear();
  topics_ = ids_ = positions_ = hashes_ = timestamps_ = sources_ = payloads_ = "{";
  std::size_t n = 0;
  for (const auto& entry : group)
    for (const event& e : entry.events) {
      key_.assign(e.topic);
      key_ += '\0';
      key_ += e.event_id;
      const auto first = firsts_.try_emplace(key_, ++n).first->second;
      append_array_element(topics_, e.topic);
      append_array_element(ids_, e.event_id);
      append_array_element(positions_, std::to_string(first));
      append_array_element(hashes_, std::to_string(static_cast<std::int64_t>(e.content_hash)));
      append_array_element(timestamps_, e.timestamp);
      append_array_element(sources_, e.source);
      append_array_element(payloads_, e.payload);
    }
  for (auto* s : {&topics_, &ids_, &positions_, &hashes_, &timestamps_, &sources_, &payloads_})
    *s += '}';
  if (n == 0) {
    last_seq = 0;
    if (in_turn) writer_->rollback();
    return {};
  }
  const std::string received_at = format_utc_ms(std::chrono::system_clock::now());
  const std::initializer_list<const char*> params = {
      topics_.c_str(),     ids_.c_str(),     positions_.c_str(), hashes_.c_str(),
      timestamps_.c_str(), sources_.c_str(), payloads_.c_str(),  received_at.c_str()};
  // In its turn the lock is held already: the function's FOR UPDATE takes no time, and COMMIT
  // goes with it in the same round trip.
  auto r =
      in_turn ? writer_->exec_and_commit(commit_sql, params) : writer_->exec(commit_sql, params);
  // An answer counts only once the statement's transaction is over: PQexecParams returns
  // after ReadyForQuery, which the server sends after the commit (synchronous_commit on).
  if (!r || PQntuples(r.get()) != 1 || PQtransactionStatus(writer_->native()) != PQTRANS_IDLE)
    return make_error_code(errc::unavailable);
  PGresult* res = r.get();
  const char* seqs = PQgetvalue(res, 0, 1);  // "{5,6,5,...}": one seq per event
  const std::string_view statuses(PQgetvalue(res, 0, 2),
                                  static_cast<std::size_t>(PQgetlength(res, 0, 2)));
  if (statuses.size() != n || *seqs != '{') return make_error_code(errc::unavailable);
  ++seqs;
  std::size_t i = 0;
  for (const auto& entry : group) {
    entry.results->resize(entry.events.size());
    for (auto& out : *entry.results) {
      char* end = nullptr;
      out.seq = std::strtoll(seqs, &end, 10);
      seqs = *end == ',' ? end + 1 : end;
      const char s = statuses[i++];
      out.status = s == 'a'   ? event_status::accepted
                   : s == 'd' ? event_status::duplicate
                              : event_status::conflict;
    }
  }
  last_seq = int_at(res, 0, 0);
  if (!in_turn) contended_ = PQgetvalue(res, 0, 3)[0] == 't';
  return {};
}

void pg_store::announce(std::int64_t last) {
  std::lock_guard lk(notice_mu_);
  if (last <= announced_) return;
  const commit_notice n{announced_ + 1, last};
  announced_ = last;
  visible_seq_.store(last, std::memory_order_release);
  for (const auto& l : listeners_) l(n);
}

void pg_store::add_commit_listener(commit_listener l) {
  // The monitor may announce other nodes' commits already.
  std::lock_guard lk(notice_mu_);
  listeners_.push_back(std::move(l));
}

void pg_store::follow_commits(int delta) noexcept {
  // The first follower wakes the monitor: it listens within a round trip, not at its next
  // poll timeout. (A failed write leaves that poll's 100 ms.)
  if (followers_.fetch_add(delta, std::memory_order_acq_rel) == 0 && delta > 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
}

bool pg_store::wait_stop(std::chrono::milliseconds d) {
  std::unique_lock lk(stop_mu_);
  return stop_cv_.wait_for(lk, d, [this] { return stopping_; });
}

bool pg_store::monitor_connect() {
  std::string error;
  listen_ = pg_connection::connect(uri_, {}, error);
  if (!listen_) {
    mark_down("PostgreSQL unreachable: " + error);
    return false;
  }
  listening_ = false;  // the monitor loop listens on the new connection if followed
  // Commits made while this node could not listen: the counter row has their last seq.
  bool ok = false;
  const std::int64_t last = query_last_seq(*listen_, ok);
  if (!ok) {
    mark_down("PostgreSQL unreachable: " + listen_->error());
    listen_.reset();
    return false;
  }
  announce(last);
  mark_up();
  return true;
}

void pg_store::monitor_loop() {
  using clock = std::chrono::steady_clock;
  auto last_check = clock::now();
  auto last_flush = clock::now();
  while (!wait_stop(std::chrono::milliseconds(0))) {
    if (!listen_ || listen_->broken()) {
      listen_.reset();
      if (!monitor_connect() && wait_stop(std::chrono::milliseconds(250))) break;
      continue;
    }
    if (!writable()) {
      // Another connection failed: usable again once the server answers this one.
      if (listen_->run("SELECT 1")) {
        mark_up();
      } else if (!listen_->broken() && wait_stop(std::chrono::milliseconds(250))) {
        break;
      }
      continue;
    }
    pollfd pfd[2] = {{PQsocket(listen_->native()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(pfd, 2, 100);
    if (pfd[1].revents & POLLIN) {
      std::uint64_t wakes = 0;
      [[maybe_unused]] const auto n = ::read(wake_fd_, &wakes, sizeof wakes);
    }
    if (!PQconsumeInput(listen_->native())) {
      mark_down(std::string("lost the connection to PostgreSQL: ") +
                PQerrorMessage(listen_->native()));
      listen_.reset();
      continue;
    }
    std::int64_t last = 0;
    while (PGnotify* n = PQnotifies(listen_->native())) {
      last = std::max<std::int64_t>(last, std::strtoll(n->extra, nullptr, 10));
      PQfreemem(n);
    }
    const auto now = clock::now();
    bool check = now - last_check >= std::chrono::seconds(1);
    const bool wanted = followers_.load(std::memory_order_acquire) > 0;
    if (wanted) last_followed_ = now;
    if (wanted != listening_ && (wanted || now - last_followed_ >= unlisten_after)) {
      if (!listen_->run(wanted ? "LISTEN agg_commit" : "UNLISTEN agg_commit"))
        continue;  // a lost connection is made again at the top of the loop
      listening_ = wanted;
      check = check || wanted;  // commits made before LISTEN took effect
    }
    if (check) {
      // The table is the truth: a notification lost with a connection is made up for here.
      last_check = now;
      bool ok = false;
      last = std::max(last, query_last_seq(*listen_, ok));
    }
    if (last > 0) announce(last);
    if (now - last_flush >= std::chrono::milliseconds(200)) {
      last_flush = now;
      flush_rejected();
    }
  }
}

void pg_store::flush_rejected() {
  if (pending_invalid_.load(std::memory_order_relaxed) == 0 &&
      pending_overloaded_.load(std::memory_order_relaxed) == 0)
    return;
  std::lock_guard lk(stats_mu_);
  if (!stats_conn_ || stats_conn_->broken()) {
    std::string error;
    stats_conn_ = pg_connection::connect(uri_, {5000, 5000}, error);
    if (!stats_conn_) return;
  }
  const auto invalid = pending_invalid_.exchange(0, std::memory_order_relaxed);
  const auto overloaded = pending_overloaded_.exchange(0, std::memory_order_relaxed);
  const std::string i = std::to_string(invalid);
  const std::string o = std::to_string(overloaded);
  if (!stats_conn_->run("UPDATE agg_counters SET rejected_invalid = rejected_invalid + $1, "
                        "rejected_overloaded = rejected_overloaded + $2 WHERE id = 1",
                        {i.c_str(), o.c_str()})) {
    // Not counted (or, if the connection broke during the UPDATE, perhaps counted: rare,
    // and a rejected count is not an acknowledged event).
    pending_invalid_.fetch_add(invalid, std::memory_order_relaxed);
    pending_overloaded_.fetch_add(overloaded, std::memory_order_relaxed);
  }
}

void pg_store::count_rejected(std::uint64_t invalid, std::uint64_t overloaded) noexcept {
  if (invalid) pending_invalid_.fetch_add(invalid, std::memory_order_relaxed);
  if (overloaded) pending_overloaded_.fetch_add(overloaded, std::memory_order_relaxed);
}

store_stats pg_store::stats() const {
  const auto called = std::chrono::steady_clock::now();
  std::lock_guard lk(stats_mu_);
  auto with_pending = [this](store_stats s) {
    // Rejections not flushed yet are this node's own: counted at once, as with SQLite.
    s.totals.rejected_invalid += pending_invalid_.load(std::memory_order_relaxed);
    s.totals.rejected_overloaded += pending_overloaded_.load(std::memory_order_relaxed);
    return s;
  };
  // A query that started after this call answers it too.
  if (last_stats_start_ >= called || !readable()) return with_pending(last_stats_);
  if (!stats_conn_ || stats_conn_->broken()) {
    std::string error;
    stats_conn_ = pg_connection::connect(uri_, {5000, 5000}, error);
    if (!stats_conn_) return with_pending(last_stats_);
  }
  const auto started = std::chrono::steady_clock::now();
  auto r = stats_conn_->exec(stats_sql);
  if (!r || PQntuples(r.get()) < 1) return with_pending(last_stats_);
  store_stats s;
  PGresult* res = r.get();
  auto u = [&](int col) { return static_cast<std::uint64_t>(int_at(res, 0, col)); };
  s.totals = {u(0), u(1), u(2), u(3), u(4), u(5)};
  for (int i = 0; i < PQntuples(res); ++i)
    if (!PQgetisnull(res, i, 6))
      s.topic_counts.emplace_back(text_at(res, i, 6),
                                  static_cast<std::uint64_t>(int_at(res, i, 7)));
  last_stats_ = std::move(s);
  last_stats_start_ = started;
  return with_pending(last_stats_);
}

pg_store::reader_slot& pg_store::next_reader() noexcept {
  return *readers_[next_reader_.fetch_add(1, std::memory_order_relaxed) % readers_.size()];
}

bool pg_store::reader_connected(reader_slot& slot) {
  if (!readable()) return false;
  if (slot.conn && !slot.conn->broken()) return true;
  std::string error;
  slot.conn = pg_connection::connect(uri_, {}, error);
  if (!slot.conn) mark_down("PostgreSQL unreachable: " + error);
  return slot.conn != nullptr;
}

void pg_store::read_last_seq(last_seq_handler done) {
  auto* slot = &next_reader();
  boost::asio::post(slot->strand, [this, slot, done = std::move(done)] {
    const auto unavailable = make_error_code(errc::unavailable);
    if (!reader_connected(*slot)) return done(unavailable, 0);
    // Committed rows only (READ COMMITTED): every commit raised it under the row's lock.
    bool ok = false;
    const std::int64_t last = query_last_seq(*slot->conn, ok);
    if (!ok) {
      if (slot->conn->broken())
        mark_down("lost the connection to PostgreSQL: " + slot->conn->error());
      return done(unavailable, 0);
    }
    done({}, last);
  });
}

void pg_store::read_page(page_query q, page_handler done) {
  auto* slot = &next_reader();
  boost::asio::post(slot->strand, [this, slot, q = std::move(q), done = std::move(done)] {
    std::vector<stored_event> rows;
    const auto unavailable = make_error_code(errc::unavailable);
    if (!reader_connected(*slot)) return done(unavailable, std::move(rows));
    const std::string after = std::to_string(q.after);
    const std::string limit = std::to_string(q.limit);
    constexpr const char* columns =
        "SELECT seq, topic, event_id, timestamp, source, payload, received_at FROM agg_events ";
    static const std::string all = std::string(columns) + "WHERE seq > $1 ORDER BY seq LIMIT $2";
    static const std::string by_topic =
        std::string(columns) + "WHERE topic = $3 AND seq > $1 ORDER BY seq LIMIT $2";
    auto r = q.topic ? slot->conn->exec(by_topic.c_str(),
                                        {after.c_str(), limit.c_str(), q.topic->c_str()})
                     : slot->conn->exec(all.c_str(), {after.c_str(), limit.c_str()});
    if (!r) {
      if (slot->conn->broken())
        mark_down("lost the connection to PostgreSQL: " + slot->conn->error());
      return done(unavailable, std::move(rows));
    }
    PGresult* res = r.get();
    rows.reserve(static_cast<std::size_t>(PQntuples(res)));
    for (int i = 0; i < PQntuples(res); ++i)
      rows.push_back({int_at(res, i, 0), text_at(res, i, 1), text_at(res, i, 2), text_at(res, i, 3),
                      text_at(res, i, 4), text_at(res, i, 5), text_at(res, i, 6)});
    done({}, std::move(rows));
  });
}

std::string pg_store::failure() const {
  std::lock_guard lk(state_mu_);
  return failure_;
}

void pg_store::mark_down(const std::string& why) {
  std::lock_guard lk(state_mu_);
  if (up_.load(std::memory_order_acquire) || failure_.empty()) failure_ = why;
  up_.store(false, std::memory_order_release);
}

void pg_store::mark_up() {
  std::lock_guard lk(state_mu_);
  failure_.clear();
  up_.store(true, std::memory_order_release);
}

void pg_store::close() noexcept {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lk(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  flush_rejected();
  read_pool_.join();
  readers_.clear();
  writer_.reset();
  listen_.reset();
  std::lock_guard lk(stats_mu_);
  stats_conn_.reset();
}

}  // namespace agg::store
