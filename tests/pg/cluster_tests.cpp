// Several nodes on one PostgreSQL database are one service (CONTRACT.md, "Several nodes on
// PostgreSQL"): one dedup, one sequence, one set of counters, kill -9 of a node, a stopped
// and restarted server, schema creation by nodes starting together.
#define BOOST_TEST_DYN_LINK
#include "pg_support.hpp"
#include "stream_client.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace agg::test;
using namespace std::chrono_literals;

namespace {

server_config node_config(const std::string& uri) {
  server_config c;
  c.db = uri;
  return c;
}

std::string stats_without_node_fields(http_client& c) {
  auto s = get_stats(c);
  for (const char* k : {"uptime", "started_at", "queue", "subscribers"}) s.erase(k);
  return to_text(s);
}

// What one publishing thread saw; checked on the main thread (Boost.Test is not thread-safe).
struct client_log {
  std::vector<std::string> errors;
  std::map<event_key, std::int64_t> seqs;  // key -> seq in every answer (must agree)
  std::size_t accepted = 0;
  std::vector<event_key> acknowledged;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void record(const http_response& r, client_log& log) {
  if (r.status != 200) {
    log.errors.push_back(std::to_string(r.status) + " " + r.body.substr(0, 200));
    return;
  }
  const auto doc = r.json();
  for (const auto& v : as_array(at(as_object(doc), "results"))) {
    const auto& res = as_object(v);
    const event_key k = key_of(res);
    const auto seq = as_int(at(res, "seq"));
    if (as_string(at(res, "status")) == "accepted") ++log.accepted;
    log.acknowledged.push_back(k);
    auto [it, fresh] = log.seqs.emplace(k, seq);
    if (!fresh && it->second != seq)
      log.errors.push_back(k.first + "/" + k.second + " has seqs " + std::to_string(it->second) +
                           " and " + std::to_string(seq));
  }
}

// A node that publishes and one that reads, on a fresh database.
struct writer_and_reader {
  const std::string uri = fresh_database();
  server_process writer{node_config(uri)};
  server_process reader{node_config(uri)};
  log_on_failure guard{reader};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(pg_cluster)

// Three nodes, eight publishers, the same 2,000 keys from each in a different order and
// batching: every key stored once with one seq, seqs exactly 1..2000, the same counters and
// pages on every node.
BOOST_AUTO_TEST_CASE(three_nodes_one_dedup_one_sequence_one_set_of_counters) {
  const auto uri = fresh_database();
  std::vector<std::unique_ptr<server_process>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(std::make_unique<server_process>(node_config(uri)));
  log_on_failure guard(*nodes[0]);

  constexpr int keys = 2000;
  constexpr int clients = 8;
  std::vector<json::object> events;
  for (int i = 0; i < keys; ++i)
    events.push_back(make_event("topic." + std::to_string(i % 4), "e" + std::to_string(i)));
  std::vector<client_log> logs(clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      try {
        auto c = make_client(*nodes[static_cast<std::size_t>(t % 3)]);
        // Each client starts elsewhere and batches differently (1..100 events a request).
        const std::size_t batch = t % 4 == 0 ? 1 : 25 * static_cast<std::size_t>(t % 4 + 1);
        const std::size_t start = static_cast<std::size_t>(t) * 337 % keys;
        std::vector<json::object> order;
        for (std::size_t i = 0; i < keys; ++i) order.push_back(events[(start + i) % keys]);
        if (t % 2) std::reverse(order.begin(), order.end());
        const std::size_t limit = batch == 1 ? 100 : keys;  // single events: a sample
        for (std::size_t i = 0; i < limit; i += batch) {
          std::vector<json::object> part(
              order.begin() + static_cast<std::ptrdiff_t>(i),
              order.begin() + static_cast<std::ptrdiff_t>(std::min(limit, i + batch)));
          record(c.post_json("/publish", array_body(part)), logs[static_cast<std::size_t>(t)]);
        }
      } catch (const std::exception& e) {
        logs[static_cast<std::size_t>(t)].errors.push_back(e.what());
      }
    });
  for (auto& th : threads) th.join();

  std::map<event_key, std::int64_t> seq_of;
  std::size_t accepted = 0;
  std::int64_t sent = 0;
  for (const auto& log : logs) {
    BOOST_TEST(log.errors.empty(), joined(log.errors));
    accepted += log.accepted;
    sent += static_cast<std::int64_t>(log.acknowledged.size());
    for (const auto& [k, seq] : log.seqs) {
      auto [it, fresh] = seq_of.emplace(k, seq);
      BOOST_TEST(it->second == seq, k.second << " has two seqs");
    }
  }
  BOOST_TEST(accepted == std::size_t{keys});
  BOOST_TEST(seq_of.size() == std::size_t{keys});

  std::vector<std::string> listings;
  for (auto& node : nodes) {
    auto c = make_client(*node);
    const auto all = fetch_all_events(c);
    BOOST_TEST_REQUIRE(all.size() == std::size_t{keys});
    std::string listing;
    for (std::size_t i = 0; i < all.size(); ++i) {
      BOOST_TEST(as_int(at(all[i], "seq")) == static_cast<std::int64_t>(i + 1));
      BOOST_TEST(seq_of[key_of(all[i])] == static_cast<std::int64_t>(i + 1));
      listing += std::to_string(as_int(at(all[i], "seq"))) + key_of(all[i]).second + ",";
    }
    listings.push_back(listing);
    const auto s = get_stats(c);
    check_stats(s, {sent,
                    keys,
                    sent - keys,
                    0,
                    {{"topic.0", 500}, {"topic.1", 500}, {"topic.2", 500}, {"topic.3", 500}}});
  }
  BOOST_TEST(listings[0] == listings[1]);
  BOOST_TEST(listings[0] == listings[2]);

  // A rejected request counts on every node (flushed to the shared row within ~200 ms).
  auto c0 = make_client(*nodes[0]);
  BOOST_TEST(c0.post_json("/publish", "[]").status == 422u);
  auto c2 = make_client(*nodes[2]);
  std::string other;
  for (int i = 0; i < 100; ++i) {
    other = to_text(at(get_stats(c2), "rejected"));
    if (other == R"({"invalid":1,"overloaded":0})") break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(other == R"({"invalid":1,"overloaded":0})");
  BOOST_TEST(stats_without_node_fields(c0) == stats_without_node_fields(c2));
}

// kill -9 of a node under load: every acknowledged event is stored exactly once, and the other
// node keeps serving without an error.
BOOST_AUTO_TEST_CASE(kill9_of_a_node_loses_nothing_acknowledged) {
  const auto uri = fresh_database();
  server_process a(node_config(uri));
  server_process b(node_config(uri));
  log_on_failure guard(b);
  std::atomic<bool> stop{false};
  std::vector<client_log> logs(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      const bool to_a = t < 2;
      auto c = make_client(to_a ? a : b, 5s);
      for (int i = 0; !stop.load(); ++i) {
        std::vector<json::object> batch;
        for (int j = 0; j < 10; ++j)
          batch.push_back(make_event(
              "k", std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(j)));
        http_response r;
        if (c.try_request(http_client::verb::post, "/publish", array_body(batch),
                          {{"Content-Type", "application/json"}}, r)) {
          if (to_a) break;  // node A is gone
          logs[static_cast<std::size_t>(t)].errors.push_back("node B connection failed");
          break;
        }
        if (r.status != 200 && to_a) continue;
        record(r, logs[static_cast<std::size_t>(t)]);
      }
    });
  std::this_thread::sleep_for(700ms);
  a.kill9();
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& th : threads) th.join();

  std::set<event_key> acked;
  for (std::size_t t = 0; t < logs.size(); ++t) {
    if (t >= 2) BOOST_TEST(logs[t].errors.empty(), joined(logs[t].errors));
    acked.insert(logs[t].acknowledged.begin(), logs[t].acknowledged.end());
  }
  BOOST_TEST(logs[0].acknowledged.size() > 0u);
  BOOST_TEST(logs[2].acknowledged.size() > 0u);
  auto cb = make_client(b);
  const auto all = fetch_all_events(cb);
  std::set<event_key> stored;
  for (const auto& e : all) BOOST_TEST(stored.insert(key_of(e)).second, "stored twice");
  for (const auto& k : acked) BOOST_TEST(stored.count(k) == 1u, k.second << " lost");
  const auto s = get_stats(cb);
  BOOST_TEST(as_int(at(s, "unique_processed")) == static_cast<std::int64_t>(all.size()));
  BOOST_TEST(as_int(at(s, "received")) ==
             as_int(at(s, "unique_processed")) + as_int(at(s, "duplicate_dropped")));

  a.start();
  auto ca = make_client(a);
  BOOST_TEST(stats_without_node_fields(ca) == stats_without_node_fields(cb));
}

// Nodes starting at the same moment on an empty database: one creates the schema, all serve.
BOOST_AUTO_TEST_CASE(nodes_started_together_create_the_schema_once) {
  const auto uri = fresh_database();
  constexpr int n = 3;
  // server_process is started and stopped by the thread that made it (PR_SET_PDEATHSIG).
  std::barrier go(n + 1);
  std::barrier done(n + 1);
  std::vector<std::uint16_t> ports(n, 0);
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      try {
        server_process node(node_config(uri));
        ports[static_cast<std::size_t>(i)] = node.port();
        done.arrive_and_wait();  // the main thread uses the nodes now
        done.arrive_and_wait();
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
        done.arrive_and_wait();
        done.arrive_and_wait();
      }
    });
  go.arrive_and_wait();
  done.arrive_and_wait();
  for (int i = 0; i < n; ++i) {
    BOOST_TEST(errors[static_cast<std::size_t>(i)].empty(), errors[static_cast<std::size_t>(i)]);
    if (ports[static_cast<std::size_t>(i)] == 0) continue;
    http_client c("127.0.0.1", ports[static_cast<std::size_t>(i)]);
    const auto r = c.post_json("/publish", single_body(make_event("t", "same")));
    BOOST_TEST(r.status == 200u, r.body);
  }
  done.arrive_and_wait();
  for (auto& th : threads) th.join();
  const auto db = uri.substr(uri.rfind('/') + 1);
  BOOST_TEST(shared_pg().query(db, "SELECT count(*) FROM agg_meta") == "2");
  BOOST_TEST(shared_pg().query(db, "SELECT count(*) FROM agg_counters") == "1");
  BOOST_TEST(shared_pg().query(db, "SELECT count(*) FROM agg_events") == "1");
}

// A database whose agg_ tables are somebody else's is refused, never changed.
BOOST_AUTO_TEST_CASE(foreign_tables_are_refused) {
  const auto uri = fresh_database();
  const auto db = uri.substr(uri.rfind('/') + 1);
  shared_pg().query(db, "CREATE TABLE agg_events(id int)");
  std::string message;
  try {
    server_process node(node_config(uri));
  } catch (const std::exception& e) {
    message = e.what();
  }
  BOOST_TEST(message.find("refusing to touch them") != std::string::npos, message);
  BOOST_TEST(shared_pg().query(db, "SELECT to_regclass('agg_meta') IS NULL") == "t");
}

// A stream on one node follows events committed through another: history from after=0, then
// live ones, in seq order, none missing or repeated; `latest` on the other node too.
BOOST_FIXTURE_TEST_CASE(a_stream_on_one_node_follows_commits_through_another, writer_and_reader) {
  auto w = make_client(writer);
  auto publish = [&](const std::string& prefix, int n) {
    std::vector<json::object> batch;
    for (int i = 0; i < n; ++i) batch.push_back(make_event("t", prefix + std::to_string(i)));
    BOOST_TEST_REQUIRE(w.post_json("/publish", array_body(batch)).status == 200u);
  };
  publish("h", 3);
  // Right after the other node's 200, before this node can have heard of those commits:
  // `latest` is read from the database, so it is above them all the same.
  http_stream latest(reader.host(), reader.port(), "/subscribe", false);
  http_stream from0(reader.host(), reader.port(), "/subscribe?after=0", true,
                    {{"Accept", "text/event-stream"}});
  BOOST_TEST_REQUIRE(latest.status() == 200u);
  BOOST_TEST_REQUIRE(from0.status() == 200u);
  auto history = from0.events(3, 10s);
  BOOST_TEST_REQUIRE(history.size() == 3u);
  publish("l", 2);
  const auto published = std::chrono::steady_clock::now();
  auto live = from0.events(2, 10s);
  BOOST_TEST_REQUIRE(live.size() == 2u);
  // The open streams make the reader listen: it hears of the commit at once, not at its
  // once-a-second look at the counter row.
  BOOST_TEST((std::chrono::steady_clock::now() - published < 300ms));
  auto newest = latest.events(2, 10s);
  std::vector<std::string> ids;
  for (const auto* v : {&history, &live})
    for (const auto& e : *v)
      ids.push_back(as_string(at(e, "event_id")) + "@" + std::to_string(as_int(at(e, "seq"))));
  BOOST_TEST(ids == (std::vector<std::string>{"h0@1", "h1@2", "h2@3", "l0@4", "l1@5"}));
  BOOST_TEST_REQUIRE(newest.size() == 2u);
  BOOST_TEST(as_int(at(newest[0], "seq")) == 4);
  BOOST_TEST(as_int(at(newest[1], "seq")) == 5);
  BOOST_TEST(!from0.next_event(300ms).has_value());  // nothing repeated
}

// A long poll held on one node is answered as soon as an event is committed through another:
// the held request makes its node listen for other nodes' commits (without that, it would
// hear of them through its once-a-second look at the counter row).
BOOST_FIXTURE_TEST_CASE(a_long_poll_on_one_node_is_answered_by_a_commit_through_another,
                        writer_and_reader) {
  auto w = make_client(writer);
  for (int round = 0; round < 4; ++round) {
    auto held = std::async(std::launch::async, [&] {
      auto c = make_client(reader);
      return c.get("/events?after=" + std::to_string(round) + "&wait=10");
    });
    std::this_thread::sleep_for(300ms);
    BOOST_TEST_REQUIRE((held.wait_for(0ms) == std::future_status::timeout));
    const auto ok =
        w.post_json("/publish", array_body({make_event("t", "e" + std::to_string(round))}));
    BOOST_TEST_REQUIRE(ok.status == 200u);
    const auto published = std::chrono::steady_clock::now();
    BOOST_TEST_REQUIRE((held.wait_for(5s) == std::future_status::ready));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - published)
            .count();
    BOOST_TEST_MESSAGE("round " << round << ": answered " << ms << " ms after the 200");
    BOOST_TEST(ms < 300.0);
    const auto r = held.get();
    BOOST_TEST_REQUIRE(r.status == 200u);
    const auto body = as_object(r.json());
    BOOST_TEST(as_int(at(body, "count")) == 1);
    BOOST_TEST(as_int(at(body, "next_after")) == round + 1);
  }
}

// PostgreSQL stopped: 503 unavailable everywhere but the process stays up; started again:
// the node serves again by itself, with everything stored before.
BOOST_AUTO_TEST_CASE(postgres_stopped_then_restarted_node_recovers_by_itself) {
  pg_server pg;  // its own server: this test stops it
  const auto uri = pg.create_database("t");
  server_process node(node_config(uri));
  log_on_failure guard(node);
  auto c = make_client(node, 10s);
  BOOST_TEST_REQUIRE(c.post_json("/publish", single_body(make_event("t", "before"))).status ==
                     200u);

  pg.stop();
  http_response r;
  for (int i = 0; i < 100; ++i) {
    r = c.post_json("/publish", single_body(make_event("t", "during")));
    if (r.status != 200) break;
    std::this_thread::sleep_for(50ms);
  }
  check_error(r, 503, "unavailable");
  const auto health = c.get("/health");
  BOOST_TEST(health.status == 503u);
  const auto h = as_object(health.json());
  BOOST_TEST(as_string(at(h, "status")) == "unavailable");
  BOOST_TEST(!as_string(at(h, "reason")).empty());
  check_error(c.get("/events"), 503, "unavailable");
  check_error(c.get("/stats"), 503, "unavailable");

  pg.start();
  bool healthy = false;
  for (int i = 0; i < 200 && !healthy; ++i) {
    healthy = c.get("/health").status == 200;
    if (!healthy) std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST_REQUIRE(healthy);
  r = c.post_json("/publish", array_body({make_event("t", "during"), make_event("t", "before")}));
  BOOST_TEST_REQUIRE(r.status == 200u, r.body);
  const auto results = as_array(at(as_object(r.json()), "results"));
  BOOST_TEST(as_string(at(as_object(results[0]), "status")) == "accepted");
  BOOST_TEST(as_string(at(as_object(results[1]), "status")) == "duplicate");
  const auto all = fetch_all_events(c);
  BOOST_TEST_REQUIRE(all.size() == 2u);
  BOOST_TEST(key_of(all[0]).second == "before");
  BOOST_TEST(key_of(all[1]).second == "during");
  BOOST_TEST(node.running());
}

BOOST_AUTO_TEST_SUITE_END()
