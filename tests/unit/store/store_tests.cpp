#include "store/sqlite_reader.hpp"
#include "store/sqlite_writer.hpp"

#include "../temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

using namespace agg;

namespace {

event make_event(const std::string& topic, const std::string& id) {
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

BOOST_AUTO_TEST_SUITE_END()
