// pg_store's group commit (one call of agg_commit_group per group): the outcome of every
// event, in-group repeats and conflicts included, exact counters, the migration of version-1
// and version-2 databases, the plan of the key lookup, two stores committing at once, and a
// server restarted while idle.
#define BOOST_TEST_DYN_LINK
#include "pg_support.hpp"
#include "store_support.hpp"

#include "store/pg_store.hpp"

#include <boost/test/unit_test.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace store = agg::store;
using agg::test::request_events;
using agg::test::shared_pg;

namespace {

std::string database_of(const std::string& uri) {
  return uri.substr(uri.rfind('/') + 1);
}

std::string totals(const store::pg_store& s) {
  const auto t = s.stats().totals;
  return "received " + std::to_string(t.received) + ", unique " +
         std::to_string(t.unique_processed) + ", dropped " + std::to_string(t.duplicate_dropped) +
         ", conflicts " + std::to_string(t.conflicts);
}

// A group of requests, committed; the store's error as a failure message.
void commit(store::pg_store& s, std::vector<request_events*> requests) {
  std::vector<store::batch_entry> group;
  for (auto* r : requests) group.push_back(r->entry());
  BOOST_TEST_REQUIRE(!s.commit(group), s.failure());
}

bool wait_writable(store::pg_store& s, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!s.writable() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  return s.writable();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pg_store_commit)

// A key repeated inside a group: the first copy is accepted, a later one is a duplicate or a
// conflict against it by content hash; a stored key's copies are judged against the stored
// row; a group of duplicates only changes the counters. (The same outcomes as the client-side
// transaction of schema version 1 gave.)
BOOST_AUTO_TEST_CASE(repeated_keys_and_conflicts_get_exact_outcomes) {
  const auto uri = agg::test::fresh_database();
  auto s = store::pg_store::open(uri, {});

  request_events r1({"a", "b", "a", "a"}, {1, 1, 1, 2});
  request_events r2({"b", "c"}, {2, 1});
  commit(*s, {&r1, &r2});
  BOOST_TEST(r1.outcomes() == "accepted@1 accepted@2 duplicate@1 conflict@1");
  BOOST_TEST(r2.outcomes() == "conflict@2 accepted@3");
  BOOST_TEST(totals(*s) == "received 6, unique 3, dropped 3, conflicts 2");
  BOOST_TEST(s->last_seq() == 3);

  request_events r3({"a", "a", "d", "d", "d"}, {2, 1, 5, 9, 5});
  commit(*s, {&r3});
  BOOST_TEST(r3.outcomes() == "conflict@1 duplicate@1 accepted@4 conflict@4 duplicate@4");
  BOOST_TEST(totals(*s) == "received 11, unique 4, dropped 7, conflicts 4");

  request_events r4({"c", "b"}, {1, 2});
  request_events r5({"c"}, {1});
  commit(*s, {&r4, &r5});
  BOOST_TEST(r4.outcomes() == "duplicate@3 conflict@2");
  BOOST_TEST(r5.outcomes() == "duplicate@3");
  BOOST_TEST(totals(*s) == "received 14, unique 4, dropped 10, conflicts 5");
  BOOST_TEST(s->last_seq() == 4);
  BOOST_TEST(s->commits() == 3u);

  const auto db = database_of(uri);
  BOOST_TEST(shared_pg().query(db,
                               "SELECT string_agg(seq || event_id || content_hash, ' ' "
                               "ORDER BY seq) FROM agg_events") == "1a1 2b1 3c1 4d5");
  BOOST_TEST(shared_pg().query(db, "SELECT last_seq || ' ' || received FROM agg_counters") ==
             "4 14");
  BOOST_TEST(shared_pg().query(db, "SELECT topic || count FROM agg_topics") == "t4");
  s->close();
}

// A database of schema version 1 (the tables of versions 2 and 3, without agg_commit_group)
// with events in it: a node of this build migrates it and carries on where it was; so is one of
// version 2; a version this build does not know is refused and left alone.
BOOST_AUTO_TEST_CASE(versions_1_and_2_are_migrated_then_work) {
  const auto uri = agg::test::fresh_database();
  const auto db = database_of(uri);
  {
    auto s = store::pg_store::open(uri, {});
    request_events r({"x", "y", "z"});
    commit(*s, {&r});
    s->close();
  }
  shared_pg().query(db,
                    "DROP FUNCTION agg_commit_group; "
                    "UPDATE agg_meta SET value = '1' WHERE key = 'schema_version'");
  BOOST_TEST(shared_pg().query(db, "SELECT to_regproc('agg_commit_group') IS NULL") == "t");

  auto s = store::pg_store::open(uri, {});
  BOOST_TEST(shared_pg().query(db, "SELECT value FROM agg_meta WHERE key = 'schema_version'") ==
             "3");
  BOOST_TEST(shared_pg().query(db, "SELECT to_regproc('agg_commit_group') IS NOT NULL") == "t");
  BOOST_TEST(s->last_seq() == 3);
  request_events r({"y", "w", "z", "w"}, {7, 7, 8, 7});
  commit(*s, {&r});
  BOOST_TEST(r.outcomes() == "duplicate@2 accepted@4 conflict@3 duplicate@4");
  BOOST_TEST(totals(*s) == "received 7, unique 4, dropped 3, conflicts 1");
  BOOST_TEST(shared_pg().query(db, "SELECT count(*) || ' ' || max(seq) FROM agg_events") == "4 4");
  s->close();

  // A second node of this build finds version 3 and changes nothing.
  auto again = store::pg_store::open(uri, {});
  BOOST_TEST(again->last_seq() == 4);
  again->close();

  // Version 2 had the same function without its setting (see
  // key_lookup_uses_the_unique_index_even_when_planned_on_an_empty_table): redefined.
  const std::string config =
      "SELECT coalesce(proconfig::text, 'none') FROM pg_proc WHERE proname = 'agg_commit_group'";
  shared_pg().query(db,
                    "ALTER FUNCTION agg_commit_group RESET ALL; "
                    "UPDATE agg_meta SET value = '2' WHERE key = 'schema_version'");
  BOOST_TEST(shared_pg().query(db, config) == "none");
  store::pg_store::open(uri, {})->close();
  BOOST_TEST(shared_pg().query(db, "SELECT value FROM agg_meta WHERE key = 'schema_version'") ==
             "3");
  BOOST_TEST(shared_pg().query(db, config) == "{enable_seqscan=off}");

  shared_pg().query(db, "UPDATE agg_meta SET value = '4' WHERE key = 'schema_version'");
  std::string message;
  try {
    store::pg_store::open(uri, {});
  } catch (const std::exception& e) {
    message = e.what();
  }
  BOOST_TEST(message.find("has schema version 4, this build reads version 3") != std::string::npos,
             message);
  BOOST_TEST(shared_pg().query(db, "SELECT value FROM agg_meta WHERE key = 'schema_version'") ==
             "4");
}

// The plan PL/pgSQL caches for the group's key lookup is made on a node's first commits, often
// on an empty table (a new database). It must look keys up in agg_events_key all the same: a
// plan that hashed or scanned the whole table made every later commit read every stored row.
// auto_explain reports each statement's plan to the session as a NOTICE: the custom plans of
// the first five calls and the generic plan of the later ones.
BOOST_AUTO_TEST_CASE(key_lookup_uses_the_unique_index_even_when_planned_on_an_empty_table) {
  const auto uri = agg::test::fresh_database();
  store::pg_store::open(uri, {})->close();  // creates the schema
  PGconn* c = PQconnectdb(uri.c_str());
  BOOST_TEST_REQUIRE(PQstatus(c) == CONNECTION_OK, PQerrorMessage(c));
  std::vector<std::string> plans;
  PQsetNoticeProcessor(
      c,
      [](void* out, const char* m) { static_cast<std::vector<std::string>*>(out)->push_back(m); },
      &plans);
  auto run = [&](const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string value = st == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
    BOOST_TEST((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK),
               sql << ": " << PQresultErrorMessage(r));
    PQclear(r);
    return value;
  };
  run("LOAD 'auto_explain'");
  run("SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; "
      "SET auto_explain.log_level = notice");
  std::string seqs;
  for (int i = 1; i <= 7; ++i) {
    const std::string id = "'e" + std::to_string(i) + "'";
    seqs += run("SELECT seqs::text FROM agg_commit_group(ARRAY['t'], ARRAY[" + id +
                "], ARRAY[1], ARRAY[1::bigint], ARRAY['2026-12-03T00:00:00Z'], ARRAY['s'], "
                "ARRAY['{}'], '2026-12-03T00:00:00Z')");
  }
  PQfinish(c);
  BOOST_TEST(seqs == "{1}{2}{3}{4}{5}{6}{7}");
  int by_index = 0, scans = 0;
  for (const auto& p : plans) {
    by_index += p.find("Index Scan using agg_events_key on agg_events") != std::string::npos;
    scans += p.find("Seq Scan on agg_events") != std::string::npos;
  }
  BOOST_TEST(by_index == 7);  // the lookup statement of each call
  BOOST_TEST(scans == 0);
  const auto db = database_of(uri);
  BOOST_TEST(shared_pg().query(db, "SELECT count(*) || ' ' || max(seq) FROM agg_events") == "7 7");
}

// Two stores (two nodes) committing overlapping keys at the same time, in opposite orders:
// every key stored once, seqs exactly 1..N in commit order, both sides agree on every seq.
BOOST_AUTO_TEST_CASE(two_stores_committing_at_once_give_one_gap_free_sequence) {
  const auto uri = agg::test::fresh_database();
  auto a = store::pg_store::open(uri, {});
  auto b = store::pg_store::open(uri, {});
  constexpr int keys = 2000;
  constexpr int per_request = 10;
  // A stores k0..k1499 ascending, B k500..k1999 descending: 1000 keys sent by both.
  auto requests_for = [](int from, int to, int step) {
    std::vector<std::unique_ptr<request_events>> out;
    for (int i = from; i != to;) {
      std::vector<std::string> ids;
      for (int j = 0; j < per_request; ++j, i += step) ids.push_back("k" + std::to_string(i));
      out.push_back(std::make_unique<request_events>(std::move(ids)));
    }
    return out;
  };
  auto on_a = requests_for(0, 1500, 1);
  auto on_b = requests_for(keys - 1, 499, -1);
  std::string error_a, error_b;
  auto run = [](store::pg_store& s, std::vector<std::unique_ptr<request_events>>& reqs,
                std::string& error) {
    // Groups of 1 to 3 requests, as group commit makes them; the turn first, as the
    // consumer asks for it (taken while the other store keeps the lock busy).
    for (std::size_t i = 0; i < reqs.size() && error.empty();) {
      s.take_turn();
      std::vector<store::batch_entry> group;
      for (std::size_t n = 0; n < 1 + i % 3 && i < reqs.size(); ++n)
        group.push_back(reqs[i++]->entry());
      if (s.commit(group)) error = s.failure();
    }
  };
  std::thread ta([&] { run(*a, on_a, error_a); });
  std::thread tb([&] { run(*b, on_b, error_b); });
  ta.join();
  tb.join();
  BOOST_TEST_REQUIRE(error_a.empty(), error_a);
  BOOST_TEST_REQUIRE(error_b.empty(), error_b);

  std::map<std::string, std::int64_t> seq_of;
  std::set<std::int64_t> accepted_seqs;
  std::size_t disagreements = 0;
  for (auto* side : {&on_a, &on_b})
    for (const auto& r : *side)
      for (std::size_t i = 0; i < r->ids.size(); ++i) {
        const auto& res = r->results[i];
        BOOST_TEST((res.status != agg::event_status::conflict));
        if (res.status == agg::event_status::accepted)
          BOOST_TEST(accepted_seqs.insert(res.seq).second, "seq " << res.seq << " twice");
        const auto [it, fresh] = seq_of.emplace(r->ids[i], res.seq);
        if (!fresh && it->second != res.seq) ++disagreements;
      }
  BOOST_TEST(disagreements == 0u);
  BOOST_TEST(seq_of.size() == std::size_t{keys});
  BOOST_TEST(accepted_seqs.size() == std::size_t{keys});
  BOOST_TEST(*accepted_seqs.begin() == 1);
  BOOST_TEST(*accepted_seqs.rbegin() == keys);
  BOOST_TEST(totals(*a) == "received 3000, unique 2000, dropped 1000, conflicts 0");
  const auto db = database_of(uri);
  BOOST_TEST(shared_pg().query(db,
                               "SELECT count(DISTINCT event_id) || ' ' || min(seq) || ' ' "
                               "|| max(seq) FROM agg_events") == "2000 1 2000");
  a->close();
  b->close();
}

// A commit that waited for the counter lock (another node holding it) makes the next one take
// its turn first: the lock is taken before the group closes, and the group is committed with
// the same outcomes in one round trip. A turn that did not wait ends the taking of turns.
BOOST_AUTO_TEST_CASE(a_contended_lock_makes_the_next_commit_take_its_turn_first) {
  const auto uri = agg::test::fresh_database();
  auto s = store::pg_store::open(uri, {});
  BOOST_TEST(!s->take_turn());  // nothing waited for yet

  // Another "node" holds the lock for 300 ms while this one commits.
  PGconn* other = PQconnectdb(uri.c_str());
  BOOST_TEST_REQUIRE(PQstatus(other) == CONNECTION_OK, PQerrorMessage(other));
  PQclear(PQexec(other, "BEGIN; SELECT 1 FROM agg_counters WHERE id = 1 FOR UPDATE"));
  std::thread release([other] {
    std::this_thread::sleep_for(300ms);
    PQclear(PQexec(other, "COMMIT"));
  });
  request_events r1({"a", "b"});
  commit(*s, {&r1});
  release.join();
  PQfinish(other);
  BOOST_TEST(r1.outcomes() == "accepted@1 accepted@2");

  BOOST_TEST_REQUIRE(s->take_turn());
  request_events r2({"c", "a", "c", "c"}, {7, 8, 7, 9});
  request_events r3({"d"});
  commit(*s, {&r2, &r3});
  BOOST_TEST(r2.outcomes() == "accepted@3 conflict@1 duplicate@3 conflict@3");
  BOOST_TEST(r3.outcomes() == "accepted@4");
  BOOST_TEST(totals(*s) == "received 7, unique 4, dropped 3, conflicts 2");

  BOOST_TEST(!s->take_turn());  // the turn taken above found the lock free
  request_events r4({"d"});
  commit(*s, {&r4});
  BOOST_TEST(r4.outcomes() == "duplicate@4");
  BOOST_TEST(s->commits() == 3u);
  const auto db = database_of(uri);
  BOOST_TEST(shared_pg().query(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                                       "' AND state LIKE 'idle in transaction%'") == "0");
  s->close();
}

// The server restarted while the store was idle: its writer connection is dead, which shows
// only when read. The next commit finds that before sending, connects again and succeeds.
BOOST_AUTO_TEST_CASE(a_server_restarted_while_idle_costs_no_failed_commit) {
  agg::test::pg_server pg;  // its own server: this test stops it
  const auto uri = pg.create_database("t");
  auto s = store::pg_store::open(uri, {});
  request_events r1({"before"});
  commit(*s, {&r1});
  pg.stop();
  pg.start();
  // The monitor notices the restart and reconnects by itself (every 250 ms).
  BOOST_TEST_REQUIRE(wait_writable(*s, 10s));
  request_events r2({"after", "before"});
  commit(*s, {&r2});
  BOOST_TEST(r2.outcomes() == "accepted@2 duplicate@1");
  BOOST_TEST(s->writable());
  BOOST_TEST(totals(*s) == "received 3, unique 2, dropped 1, conflicts 0");
  s->close();
}

BOOST_AUTO_TEST_SUITE_END()
