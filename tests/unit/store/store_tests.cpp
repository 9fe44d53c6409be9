#include "store/sqlite_reader.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_writer.hpp"

#include "../temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

#include <fstream>
#include <future>
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
    BOOST_TEST(!s->add_topic_count("t1", 1));
    BOOST_TEST(!s->add_topic_count("t2", 1));
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

// Checkpoints run on the checkpointer's own connection; the writer waits only when the WAL
// reaches its bound, so the WAL file never grows past it; close() leaves the database alone.
BOOST_AUTO_TEST_CASE(sqlite_store_checkpoints_off_the_commit_path_within_a_wal_bound) {
  temp_dir dir;
  const auto path = dir.file("events.db");
  store::sqlite_store::settings cfg;
  cfg.checkpoint_pages = 4;
  cfg.wal_limit_pages = 32;
  constexpr int commits = 24, per_commit = 20;
  const std::string payload = R"({"p":")" + std::string(1500, 'x') + R"("})";
  std::vector<std::string> ids;  // the events view them
  ids.reserve(commits * per_commit);
  std::uintmax_t longest_wal = 0;
  {
    auto s = store::sqlite_store::open(path, cfg);
    for (int c = 0; c < commits; ++c) {
      std::vector<event> evs;
      for (int i = 0; i < per_commit; ++i) {
        ids.push_back("id-" + std::to_string(c * per_commit + i));
        event e = make_event("t", ids.back());
        e.payload = payload;
        e.key_hash = ids.size();
        evs.push_back(e);
      }
      std::vector<event_result> r;
      const std::vector<store::batch_entry> group{{evs, &r}};
      BOOST_REQUIRE(!s->commit(group));
      longest_wal = std::max(longest_wal, std::filesystem::file_size(path + "-wal"));
    }
    // Each commit adds about 10 frames: the bound plus one commit, never the whole 240.
    BOOST_TEST(longest_wal <= (32u + 16u) * (4096u + 24u) + 32u);
    BOOST_TEST(std::filesystem::file_size(path) > 20u * 4096u);  // copied while open
    s->close();
  }
  BOOST_TEST(!std::filesystem::exists(path + "-wal"));
  BOOST_TEST(!std::filesystem::exists(path + "-shm"));
  auto w = store::sqlite_writer::open(path, sync_mode::normal);
  const auto r = w->recover([](std::int64_t) {}, [](std::int64_t, std::uint64_t) {});
  BOOST_TEST(r.max_seq == commits * per_commit);
  BOOST_TEST(r.totals.unique_processed == std::uint64_t{commits * per_commit});
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

BOOST_AUTO_TEST_SUITE_END()
