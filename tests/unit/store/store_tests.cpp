#include "store/instance_lock.hpp"
#include "store/sqlite_reader.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_writer.hpp"

#include "../temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

#include <fstream>
#include <future>
#include <optional>
#include <sstream>

using namespace agg;

namespace {

// Views its arguments: pass literals (static storage), so the events can be kept.
event make_event(std::string_view topic, std::string_view id) {
  event e;
  e.topic = topic;
  e.event_id = id;
  e.timestamp = "2026-11-24T10:15:00Z";
  e.source = "s";
  e.payload = R"({"n":1})";
  e.key_hash = 1000 + id.size();
  e.content_hash = 77;
  return e;
}

std::string open_error(const std::string& path) {
  try {
    store::sqlite_writer::open(path, sync_mode::normal);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "opened";
}

// Runs SQL on its own connection, as another program would.
void sql_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
}

std::int64_t sql_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  store::statement s(db, sql);
  BOOST_REQUIRE(s.step() == SQLITE_ROW);
  const std::int64_t v = s.column_int(0);
  s = {};
  sqlite3_close(db);
  return v;
}

// The seqs of one page of read_page.
std::vector<std::int64_t> page_seqs(store::sqlite_store& s, std::optional<std::string> topic,
                                    std::int64_t after, std::int64_t limit,
                                    boost::system::error_code* error = nullptr) {
  std::promise<std::vector<std::int64_t>> page;
  s.read_page({std::move(topic), after, limit},
              [&](boost::system::error_code ec, std::vector<store::stored_event> rows) {
                if (error)
                  *error = ec;
                else
                  BOOST_TEST(!ec);
                std::vector<std::int64_t> seqs;
                for (const auto& r : rows) seqs.push_back(r.seq);
                page.set_value(std::move(seqs));
              });
  return page.get_future().get();
}

std::vector<std::int64_t> seqs_of(const store::seq_list& l) {
  std::vector<std::int64_t> out;
  BOOST_TEST(store::for_each_seq(l.first(), l.gaps(), [&](std::int64_t seq) {
    out.push_back(seq);
    return true;
  }));
  return out;
}

// Version 1's schema, as its builds created it (with the empty counters row left to the test).
constexpr const char* version_1_schema = R"sql(
    PRAGMA application_id = 1095190321; PRAGMA user_version = 1; PRAGMA journal_mode = WAL;
    CREATE TABLE events(seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, event_id TEXT NOT NULL,
      timestamp TEXT NOT NULL, source TEXT NOT NULL, payload TEXT NOT NULL,
      received_at TEXT NOT NULL, content_hash INTEGER NOT NULL);
    CREATE INDEX events_by_topic ON events(topic, seq);
    CREATE TABLE key_blocks(first_seq INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
    CREATE TABLE counters(id INTEGER PRIMARY KEY CHECK (id = 1), received INTEGER NOT NULL,
      unique_processed INTEGER NOT NULL, duplicate_dropped INTEGER NOT NULL,
      conflicts INTEGER NOT NULL, rejected_invalid INTEGER NOT NULL,
      rejected_overloaded INTEGER NOT NULL);
    CREATE TABLE topics(topic TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
)sql";

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_tests)

BOOST_AUTO_TEST_CASE(writes_commit_and_recover) {
  temp_dir dir;
  const auto path = dir.file("sub/folder/events.db");  // folders are created
  {
    auto s = store::sqlite_writer::open(path, sync_mode::full);
    BOOST_TEST(!s->begin());
    BOOST_TEST(!s->insert(make_event("t1", "a"), 1, "2026-11-24T10:15:00.000Z"));
    BOOST_TEST(!s->insert(make_event("t2", "bb"), 2, "2026-11-24T10:15:00.000Z"));
    BOOST_TEST(!s->add_key_block(1, {1001, 1002}));
    store::seq_list t1, t2;
    t1.add(1);
    t2.add(2);
    BOOST_TEST(!s->add_topic("t1", t1));
    BOOST_TEST(!s->add_topic("t2", t2));
    BOOST_TEST(!s->save_counters({3, 2, 1, 0, 5, 6}));
    BOOST_TEST(!s->commit());
    store::stored_key k;
    BOOST_TEST(!s->load_key(2, k));
    BOOST_TEST(k.topic == "t2");
    BOOST_TEST(k.event_id == "bb");
    BOOST_TEST(k.content_hash == 77u);
    BOOST_TEST(s->load_key(3, k).value() == SQLITE_CORRUPT);  // no such row
  }
  auto s = store::sqlite_writer::open(path, sync_mode::normal);
  std::int64_t hinted = -1;
  std::vector<std::pair<std::int64_t, std::uint64_t>> keys;
  const auto r = s->recover([&](std::int64_t max) { hinted = max; },
                            [&](std::int64_t seq, std::uint64_t h) { keys.emplace_back(seq, h); });
  BOOST_TEST(hinted == 2);
  BOOST_TEST(r.max_seq == 2);
  BOOST_REQUIRE(keys.size() == 2u);
  BOOST_TEST(keys[0].first == 1);
  BOOST_TEST(keys[0].second == 1001u);
  BOOST_TEST(keys[1].second == 1002u);
  BOOST_TEST(r.totals.received == 3u);
  BOOST_TEST(r.totals.unique_processed == 2u);
  BOOST_TEST(r.totals.duplicate_dropped == 1u);
  BOOST_TEST(r.totals.rejected_invalid == 5u);
  BOOST_TEST(r.totals.rejected_overloaded == 6u);
  BOOST_REQUIRE(r.topic_counts.size() == 2u);
  BOOST_TEST(r.topic_counts[0].first == "t1");
  BOOST_TEST(r.topic_counts[1].second == 1u);

  store::sqlite_reader reader(path);
  std::vector<store::stored_event> rows;
  BOOST_TEST(!reader.events(std::nullopt, 0, 10, rows));
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[1].seq == 2);
  BOOST_TEST(rows[1].payload == R"({"n":1})");
  rows.clear();
  BOOST_TEST(!reader.events(std::string("t2"), 0, 10, rows));
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].event_id == "bb");
  rows.clear();
  BOOST_TEST(!reader.events(std::nullopt, 1, 10, rows));
  BOOST_TEST(rows.size() == 1u);
}

BOOST_AUTO_TEST_CASE(events_without_their_key_block_are_reported_as_damage) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  auto s = store::sqlite_writer::open(path, sync_mode::normal);
  BOOST_TEST(!s->begin());
  BOOST_TEST(!s->insert(make_event("t", "a"), 1, "x"));
  BOOST_TEST(!s->insert(make_event("t", "b"), 2, "x"));
  BOOST_TEST(!s->add_key_block(1, {7}));  // covers seq 1 only
  BOOST_TEST(!s->commit());
  std::string error;
  try {
    s->recover([](std::int64_t) {}, [](std::int64_t, std::uint64_t) {});
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  BOOST_TEST(error == "--db " + path + " is damaged: key blocks end at seq 1, events at seq 2");
}

BOOST_AUTO_TEST_CASE(uncommitted_rows_are_invisible_and_rolled_back) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  auto s = store::sqlite_writer::open(path, sync_mode::normal);
  store::sqlite_reader reader(path);
  BOOST_TEST(!s->begin());
  BOOST_TEST(!s->insert(make_event("t", "a"), 1, "x"));
  std::vector<store::stored_event> rows;
  BOOST_TEST(!reader.events(std::nullopt, 0, 10, rows));
  BOOST_TEST(rows.empty());
  s->rollback();
  BOOST_TEST(!reader.events(std::nullopt, 0, 10, rows));
  BOOST_TEST(rows.empty());
}

BOOST_AUTO_TEST_CASE(refuses_foreign_and_corrupt_files_without_touching_them) {
  temp_dir dir;
  const auto garbage = dir.file("garbage.db");
  {
    std::ofstream f(garbage, std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(i * 7 + 3));
  }
  const auto before = read_all(garbage);
  BOOST_TEST(open_error(garbage).find("is not a SQLite database") != std::string::npos);
  BOOST_TEST(read_all(garbage) == before);

  const auto foreign = dir.file("foreign.db");
  {
    sqlite3* db = nullptr;
    sqlite3_open(foreign.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
  }
  const auto foreign_before = read_all(foreign);
  BOOST_TEST(open_error(foreign) ==
             "--db " + foreign +
                 " is a SQLite database of another application (application_id 0); refusing to "
                 "touch it");
  BOOST_TEST(read_all(foreign) == foreign_before);
}

// The event_store guarantees, on the SQLite implementation. make_event's key hash depends only
// on the id's length, so "a" and "b" collide: identity is confirmed against the stored row.
BOOST_AUTO_TEST_CASE(sqlite_store_decides_outcomes_per_group_and_tells_listeners) {
  temp_dir dir;
  auto s = store::sqlite_store::open(dir.file("events.db"), {});
  std::vector<store::commit_notice> notices;
  s->add_commit_listener([&](const store::commit_notice& n) { notices.push_back(n); });
  const std::vector<event> first{make_event("t", "a"), make_event("t", "b"), make_event("t", "a")};
  auto changed = make_event("t", "b");
  changed.content_hash = 78;
  const std::vector<event> second{changed, make_event("u", "a")};
  std::vector<event_result> r1, r2;
  const std::vector<store::batch_entry> group{{first, &r1}, {second, &r2}};
  BOOST_TEST(!s->commit(group));
  auto text = [](const std::vector<event_result>& rs) {
    std::string out;
    for (const auto& r : rs)
      out += std::string(to_string(r.status)) + ":" + std::to_string(r.seq) + " ";
    return out;
  };
  BOOST_TEST(text(r1) == "accepted:1 accepted:2 duplicate:1 ");
  BOOST_TEST(text(r2) == "conflict:2 accepted:3 ");
  BOOST_REQUIRE(notices.size() == 1u);
  BOOST_TEST(notices[0].first_seq == 1);
  BOOST_TEST(notices[0].last_seq == 3);

  const std::vector<event> again{make_event("t", "a")};  // nothing new: no notice
  std::vector<event_result> r3;
  const std::vector<store::batch_entry> dup_only{{again, &r3}};
  s->count_rejected(2, 1);
  BOOST_TEST(!s->commit(dup_only));
  BOOST_TEST(text(r3) == "duplicate:1 ");
  BOOST_TEST(notices.size() == 1u);
  BOOST_TEST(s->commits() == 2u);

  const auto st = s->stats();
  BOOST_TEST(st.totals.received == 6u);
  BOOST_TEST(st.totals.unique_processed == 3u);
  BOOST_TEST(st.totals.duplicate_dropped == 3u);
  BOOST_TEST(st.totals.conflicts == 1u);
  BOOST_TEST(st.totals.rejected_invalid == 2u);
  BOOST_TEST(st.totals.rejected_overloaded == 1u);
  BOOST_REQUIRE(st.topic_counts.size() == 2u);
  BOOST_TEST(st.topic_counts[0].first == "t");
  BOOST_TEST(st.topic_counts[0].second == 2u);

  std::promise<std::vector<store::stored_event>> page;
  s->read_page({std::string("t"), 1, 10},
               [&](boost::system::error_code ec, std::vector<store::stored_event> rows) {
                 BOOST_TEST(!ec);
                 page.set_value(std::move(rows));
               });
  const auto rows = page.get_future().get();
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].seq == 2);
  BOOST_TEST(rows[0].event_id == "b");
  BOOST_TEST(s->writable());
  BOOST_TEST(s->failure().empty());
}

BOOST_AUTO_TEST_CASE(sqlite_store_recovers_index_and_counters_after_close) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  {
    auto s = store::sqlite_store::open(path, {});
    const std::vector<event> evs{make_event("t", "a"), make_event("t", "bb")};
    std::vector<event_result> r;
    const std::vector<store::batch_entry> group{{evs, &r}};
    BOOST_TEST(!s->commit(group));
    s->count_rejected(1, 0);  // not committed with events: saved by close()
    s->close();
  }
  auto s = store::sqlite_store::open(path, {});
  const std::vector<event> evs{make_event("t", "bb"), make_event("t", "c")};
  std::vector<event_result> r;
  const std::vector<store::batch_entry> group{{evs, &r}};
  BOOST_TEST(!s->commit(group));
  BOOST_TEST((r[0].status == event_status::duplicate));
  BOOST_TEST(r[0].seq == 2);
  BOOST_TEST((r[1].status == event_status::accepted));
  BOOST_TEST(r[1].seq == 3);
  BOOST_TEST(s->stats().totals.rejected_invalid == 1u);
  BOOST_TEST(s->stats().totals.unique_processed == 3u);
}

namespace {

// Commits `commits` groups of 20 events of ~1.5 KB (10-16 WAL frames each), and returns the
// longest the WAL file was after a commit.
std::uintmax_t commit_wal_frames(store::sqlite_store& s, const std::string& path, int commits) {
  constexpr int per_commit = 20;
  const std::string payload = R"({"p":")" + std::string(1500, 'x') + R"("})";
  std::vector<std::string> ids;  // the events view them
  ids.reserve(static_cast<std::size_t>(commits * per_commit));
  std::uintmax_t longest_wal = 0;
  for (int c = 0; c < commits; ++c) {
    std::vector<event> evs;
    for (int i = 0; i < per_commit; ++i) {
      const int n = c * per_commit + i;
      ids.push_back("id-" + std::to_string(n));
      event e = make_event("t", ids.back());
      e.payload = payload;
      e.key_hash = static_cast<std::uint64_t>(n) + 1;
      evs.push_back(e);
    }
    std::vector<event_result> r;
    const std::vector<store::batch_entry> group{{evs, &r}};
    BOOST_REQUIRE(!s.commit(group));
    longest_wal = std::max(longest_wal, std::filesystem::file_size(path + "-wal"));
  }
  return longest_wal;
}

constexpr std::uintmax_t wal_frame_bytes = 4096 + 24;

}  // namespace

// Checkpoints run on the checkpointer's own connection; the writer waits only when the WAL
// reaches its bound, so the WAL file never grows past it; close() leaves the database alone.
BOOST_AUTO_TEST_CASE(sqlite_store_checkpoints_off_the_commit_path_within_a_wal_bound) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  store::sqlite_store::settings cfg;
  cfg.checkpoint_pages = 4;
  cfg.wal_restart_pages = 1000000;  // only the bound starts the WAL again
  cfg.wal_limit_pages = 32;
  {
    auto s = store::sqlite_store::open(path, cfg);
    const auto longest_wal = commit_wal_frames(*s, path, 24);
    // Each commit adds about 10 frames: the bound plus one commit, never the whole 240.
    BOOST_TEST(longest_wal <= (32u + 16u) * wal_frame_bytes + 32u);
    BOOST_TEST(std::filesystem::file_size(path) > 20u * 4096u);  // copied while open
    s->close();
  }
  BOOST_TEST(!std::filesystem::exists(path + "-wal"));
  BOOST_TEST(!std::filesystem::exists(path + "-shm"));
  auto w = store::sqlite_writer::open(path, sync_mode::normal);
  const auto r = w->recover([](std::int64_t) {}, [](std::int64_t, std::uint64_t) {});
  BOOST_TEST(r.max_seq == 24 * 20);
  BOOST_TEST(r.totals.unique_processed == std::uint64_t{24 * 20});
}

// Under writes without a pause no pass copies every frame, yet the WAL starts again soon after
// it reached wal_restart_pages, far below its bound: the writer waits for one pass there.
BOOST_AUTO_TEST_CASE(sqlite_store_starts_the_wal_again_under_sustained_writes) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  store::sqlite_store::settings cfg;
  cfg.checkpoint_pages = 40;
  cfg.wal_restart_pages = 200;
  cfg.wal_limit_pages = 1000000;
  // With 50 ms, a pass slowed by a disk or CPUs shared with other tests (ASan and TSan in CI)
  // can outlast every wait, and the WAL then grows on towards its bound, as designed. What is
  // tested here is that the writer waits, not how fast this machine is.
  cfg.wal_restart_wait = std::chrono::seconds(10);
  auto s = store::sqlite_store::open(path, cfg);
  const auto longest_wal = commit_wal_frames(*s, path, 300);  // 3,000-4,900 frames
  // The restart point plus the frames of the commits made during one pass and the wait for
  // the next: a pass takes a few commits' time, so the WAL never holds half of what was
  // written; without the writer's wait it would hold all of it.
  BOOST_TEST(longest_wal < 1500u * wal_frame_bytes);
  BOOST_TEST(std::filesystem::file_size(path) > 2000u * 4096u);  // copied while open
  s->close();
  auto w = store::sqlite_writer::open(path, sync_mode::normal);
  const auto r = w->recover([](std::int64_t) {}, [](std::int64_t, std::uint64_t) {});
  BOOST_TEST(r.max_seq == 300 * 20);
}

BOOST_AUTO_TEST_CASE(a_file_served_by_a_store_cannot_be_opened_by_another) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  auto s = store::sqlite_store::open(path, {});
  std::string error;
  try {
    store::sqlite_store::open(path, {});
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  BOOST_TEST(error == "--db " + path +
                          " is in use by another running aggregator; stop it first or give this "
                          "one another --db");
  // Short-lived commands use the writer connection alone, which SQLite's own locks guard.
  BOOST_TEST(store::sqlite_writer::open(path, sync_mode::normal) != nullptr);
  s.reset();
  BOOST_TEST(store::sqlite_store::open(path, {}) != nullptr);  // released with its owner
}

// Gaps of every varint length, and the bytes a damaged block could hold.
BOOST_AUTO_TEST_CASE(seq_lists_round_trip_and_reject_malformed_bytes) {
  store::seq_list l;
  const std::vector<std::int64_t> seqs{
      5, 6, 7, 135, 264, 16648, 16649, 2113801, 4611686018427387904};
  for (auto q : seqs) l.add(q);
  BOOST_TEST(l.first() == 5);
  BOOST_TEST(l.last() == 4611686018427387904);
  BOOST_TEST(l.size() == seqs.size());
  // Gaps 0, 0, 127, 128, 16383, 0, 2097151, then one of 9 bytes.
  BOOST_TEST(l.gaps().size() == 1u + 1 + 1 + 2 + 2 + 1 + 3 + 9);
  BOOST_TEST(seqs_of(l) == seqs);

  std::vector<std::int64_t> first_two;
  BOOST_TEST(store::for_each_seq(l.first(), l.gaps(), [&](std::int64_t q) {
    first_two.push_back(q);
    return first_two.size() < 2;
  }));
  BOOST_TEST(first_two == (std::vector<std::int64_t>{5, 6}));

  auto visits = [](std::string_view gaps) {
    int n = 0;
    const bool ok = store::for_each_seq(1, gaps, [&](std::int64_t) { return ++n, true; });
    return ok ? n : -n;
  };
  BOOST_TEST(visits("") == 1);
  BOOST_TEST(visits(std::string("\x00\x7f", 2)) == 3);
  BOOST_TEST(visits("\x80") == -1);                            // truncated varint
  BOOST_TEST(visits(std::string(10, '\xff') + "\x01") == -1);  // longer than 64 bits
}

// /events?topic= reads topic_blocks: pages that start and end inside a commit's block, across
// commits, and topics that share commits.
BOOST_AUTO_TEST_CASE(topic_pages_follow_the_blocks_of_each_commit) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  auto s = store::sqlite_store::open(path, {});
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 30; ++i) v.push_back("e" + std::to_string(i));
    return v;
  }();
  // Three commits of ten: seq 1..30; topic "a" gets the seqs not divisible by 3, "b" the rest.
  for (int c = 0; c < 3; ++c) {
    std::vector<event> evs;
    for (int i = c * 10; i < c * 10 + 10; ++i) {
      event e = make_event((i + 1) % 3 == 0 ? "b" : "a", ids[static_cast<std::size_t>(i)]);
      e.key_hash = static_cast<std::uint64_t>(i) * 7919;
      evs.push_back(e);
    }
    std::vector<event_result> r;
    const std::vector<store::batch_entry> group{{evs, &r}};
    BOOST_REQUIRE(!s->commit(group));
  }
  BOOST_TEST(page_seqs(*s, std::string("b"), 0, 100) ==
             (std::vector<std::int64_t>{3, 6, 9, 12, 15, 18, 21, 24, 27, 30}));
  BOOST_TEST(page_seqs(*s, std::string("a"), 8, 4) == (std::vector<std::int64_t>{10, 11, 13, 14}));
  BOOST_TEST(page_seqs(*s, std::string("a"), 14, 3) == (std::vector<std::int64_t>{16, 17, 19}));
  BOOST_TEST(page_seqs(*s, std::string("b"), 29, 5) == (std::vector<std::int64_t>{30}));
  BOOST_TEST(page_seqs(*s, std::string("b"), 30, 5).empty());
  BOOST_TEST(page_seqs(*s, std::string("c"), 0, 5).empty());
  BOOST_TEST(page_seqs(*s, std::nullopt, 27, 5) == (std::vector<std::int64_t>{28, 29, 30}));
  s->close();
  // One row per topic and commit.
  BOOST_TEST(sql_int(path, "SELECT count(*) FROM topic_blocks") == 6);
}

// A file of schema version 1 (an index on events(topic, seq)) is upgraded in place when it is
// opened: its topics read the same, new commits add to them, and the index is gone.
BOOST_AUTO_TEST_CASE(a_version_1_file_is_upgraded_when_opened) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  // 10,000 events, every fifth on topic "b".
  sql_exec(path, std::string(version_1_schema) + R"sql(
    BEGIN;
    INSERT INTO counters VALUES (1, 10000, 10000, 0, 0, 0, 0);
    INSERT INTO topics VALUES ('a', 8000), ('b', 2000);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
    INSERT INTO events SELECT i, CASE WHEN i % 5 = 0 THEN 'b' ELSE 'a' END, 'id-' || i,
      '2026-11-24T10:15:00Z', 's', '{"n":' || i || '}', '2026-11-24T10:15:00.000Z', 77 FROM n;
    INSERT INTO key_blocks VALUES (1, randomblob(80000));
    COMMIT;)sql");
  {
    auto s = store::sqlite_store::open(path, {});
    // "a"'s 4096th seq is 5119: the upgrade's first block of "a" ends there.
    BOOST_TEST(page_seqs(*s, std::string("a"), 0, 5) == (std::vector<std::int64_t>{1, 2, 3, 4, 6}));
    BOOST_TEST(page_seqs(*s, std::string("a"), 5118, 3) ==
               (std::vector<std::int64_t>{5119, 5121, 5122}));
    BOOST_TEST(page_seqs(*s, std::string("b"), 4990, 3) ==
               (std::vector<std::int64_t>{4995, 5000, 5005}));
    const auto all_a = page_seqs(*s, std::string("a"), 0, 20000);
    BOOST_REQUIRE(all_a.size() == 8000u);
    for (std::size_t i = 0; i < all_a.size(); ++i)
      BOOST_REQUIRE(all_a[i] == static_cast<std::int64_t>(i + 1 + i / 4));
    BOOST_TEST(page_seqs(*s, std::string("b"), 0, 20000).size() == 2000u);

    const std::vector<event> evs{make_event("b", "new")};
    std::vector<event_result> r;
    const std::vector<store::batch_entry> group{{evs, &r}};
    BOOST_REQUIRE(!s->commit(group));
    BOOST_TEST(r[0].seq == 10001);
    BOOST_TEST(page_seqs(*s, std::string("b"), 9995, 5) ==
               (std::vector<std::int64_t>{10000, 10001}));
    BOOST_TEST(s->stats().topic_counts[1].second == 2001u);
    s->close();
  }
  BOOST_TEST(sql_int(path, "PRAGMA user_version") == 2);
  BOOST_TEST(sql_int(path,
                     "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
                     "'events_by_topic'") == 0);
  // "a": 4096 + 3904 seqs, "b": 2000 in one, then the new commit's block.
  BOOST_TEST(sql_int(path, "SELECT count(*) FROM topic_blocks") == 4);
  auto s = store::sqlite_store::open(path, {});  // version 2 now: opened as it is
  BOOST_TEST(page_seqs(*s, std::string("b"), 9995, 5) == (std::vector<std::int64_t>{10000, 10001}));
}

// A version-1 file that a running server (of an older build) holds is not upgraded under it:
// that server would go on writing rows without topic_blocks.
BOOST_AUTO_TEST_CASE(a_version_1_file_in_use_is_left_alone) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  sql_exec(path,
           std::string(version_1_schema) + "INSERT INTO counters VALUES (1, 0, 0, 0, 0, 0, 0);");
  {
    store::instance_lock running(path);
    BOOST_TEST(open_error(path) ==
               "--db " + path +
                   " is in use by another running aggregator; stop it first or give this one "
                   "another --db (it has schema version 1: this build upgrades it to version 2 "
                   "once no other aggregator serves it)");
    BOOST_TEST(sql_int(path, "PRAGMA user_version") == 1);
    BOOST_TEST(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'events_by_topic'") ==
               1);
  }
  BOOST_TEST(open_error(path) == "opened");
  BOOST_TEST(sql_int(path, "PRAGMA user_version") == 2);
}

// A block that is not well-formed, or names a seq that is not stored, is reported as a
// corrupt file, not skipped.
BOOST_AUTO_TEST_CASE(damaged_topic_blocks_are_reported_as_corrupt) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  {
    auto s = store::sqlite_store::open(path, {});
    const std::vector<event> evs{make_event("a", "x"), make_event("b", "yy")};
    std::vector<event_result> r;
    const std::vector<store::batch_entry> group{{evs, &r}};
    BOOST_REQUIRE(!s->commit(group));
    s->close();
  }
  sql_exec(path,
           "UPDATE topic_blocks SET gaps = x'80', last_seq = 3 WHERE topic = 'a'; "
           "UPDATE topic_blocks SET first_seq = 9 WHERE topic = 'b'");
  auto s = store::sqlite_store::open(path, {});
  boost::system::error_code ec;
  BOOST_TEST(page_seqs(*s, std::string("a"), 0, 10, &ec) == (std::vector<std::int64_t>{1}));
  BOOST_TEST(ec.value() == SQLITE_CORRUPT);
  ec = {};
  BOOST_TEST(page_seqs(*s, std::string("b"), 0, 10, &ec).empty());
  BOOST_TEST(ec.value() == SQLITE_CORRUPT);
  BOOST_TEST(page_seqs(*s, std::nullopt, 0, 10) == (std::vector<std::int64_t>{1, 2}));
}

BOOST_AUTO_TEST_SUITE_END()
