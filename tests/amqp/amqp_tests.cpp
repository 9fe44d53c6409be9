// The RabbitMQ bridge (contract v2) over the real binary and a real broker: intake with acks
// after commit, invalid messages dead-lettered, kill -9 while consuming, fan-out of every
// stored event in seq order with confirms and a cursor, broker outages (connections reset
// through tcp_proxy, and the broker stopped and started again) and a broker that appears
// after the service.
#include "amqp_fixture.hpp"
#include "pg_server.hpp"
#include "tcp_proxy.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>

using namespace agg::test;
using namespace std::chrono_literals;
using delivery = agg::bridge::amqp_connection::delivery;

namespace {

json::object bridge_stats(http_client& c) {
  return as_object(at(get_stats(c), "bridge"));
}

std::int64_t bridge_field(http_client& c, std::string_view name) {
  return as_int(at(bridge_stats(c), name));
}

std::string bridge_state(http_client& c, std::string_view side) {
  return as_string(at(bridge_stats(c), side));
}

server_config bridge_config(const std::string& url, const std::string& queue,
                            const std::string& exchange, std::vector<std::string> extra = {}) {
  server_config cfg;
  cfg.args = {"--amqp-url", url};
  if (!queue.empty()) cfg.args.insert(cfg.args.end(), {"--amqp-consume", queue});
  if (!exchange.empty()) cfg.args.insert(cfg.args.end(), {"--amqp-publish-exchange", exchange});
  cfg.args.insert(cfg.args.end(), extra.begin(), extra.end());
  return cfg;
}

// The seed's workload: `total` events of which a fifth repeat an earlier key (same content),
// cut into messages of 1..max_per_message events. Returns the messages' events.
struct workload {
  std::vector<std::vector<json::object>> messages;
  std::map<std::string, std::int64_t> topic_counts;  // unique events per topic
  std::int64_t unique = 0;
  std::int64_t total = 0;
};

workload make_workload(std::size_t total, std::size_t max_per_message, const std::string& prefix,
                       unsigned seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> topics{"order.paid", "order.shipped", "user.created", "audit"};
  std::vector<json::object> events;
  std::vector<std::pair<std::string, std::string>> keys;
  workload w;
  for (std::size_t i = 0; i < total; ++i) {
    if (i % 5 == 4) {  // 20% duplicates of an earlier key
      const auto& k = keys[rng() % keys.size()];
      events.push_back(make_event(k.first, k.second));
      continue;
    }
    const auto& topic = topics[rng() % topics.size()];
    const std::string id = prefix + "-" + std::to_string(i);
    keys.emplace_back(topic, id);
    events.push_back(make_event(topic, id));
    ++w.topic_counts[topic];
    ++w.unique;
  }
  w.total = static_cast<std::int64_t>(total);
  for (std::size_t i = 0; i < events.size();) {
    const std::size_t n = std::min(events.size() - i, 1 + rng() % max_per_message);
    w.messages.emplace_back(events.begin() + static_cast<std::ptrdiff_t>(i),
                            events.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += n;
  }
  return w;
}

expected_stats stats_of(const workload& w, std::int64_t received) {
  expected_stats s{received, w.unique, received - w.unique, 0, {}};
  for (const auto& [t, n] : w.topic_counts) s.topic_counts.emplace_back(t, n);
  return s;
}

// What a fan-out consumer must have seen: every stored event at least once, each copy the
// /events object with header seq and routing key = topic, first copies in ascending seq.
void check_fanout(const std::vector<delivery>& got, const std::vector<json::object>& stored) {
  std::map<std::int64_t, json::object> by_seq;
  for (const auto& e : stored) by_seq[as_int(at(e, "seq"))] = e;
  std::set<std::int64_t> seen;
  std::int64_t last_first = 0;
  std::size_t bad = 0;
  for (const auto& d : got) {
    BOOST_TEST_REQUIRE(d.seq_header.has_value());
    const std::int64_t seq = *d.seq_header;
    const auto it = by_seq.find(seq);
    BOOST_TEST_REQUIRE((it != by_seq.end()), "seq " << seq << " is not a stored event");
    if (!seen.count(seq)) {
      if (seq <= last_first) ++bad;
      last_first = seq;
      seen.insert(seq);
    }
    if (parse_json(d.body) != json::value(it->second) ||
        d.routing_key != as_string(at(it->second, "topic")) ||
        d.content_type.value_or("") != "application/json")
      ++bad;
  }
  BOOST_TEST(bad == 0u);
  BOOST_TEST(seen.size() == by_seq.size());
}

bool has_all(const std::vector<delivery>& got, std::size_t n) {
  std::set<std::int64_t> seqs;
  for (const auto& d : got)
    if (d.seq_header) seqs.insert(*d.seq_header);
  return seqs.size() >= n;
}

// A publish burst on its own connection while a case disturbs the broker: 60 requests of 25
// events (a fifth of them repeats: 1,200 distinct) over about 1.5 s, on topics burst.a and
// burst.b. Every request not answered 200 counts in `refused`.
std::thread publish_burst(server_process& srv, std::atomic<int>& refused) {
  return std::thread([&srv, &refused] {
    auto pc = make_client(srv);
    for (int r = 0; r < 60; ++r) {
      std::vector<json::object> events;
      for (int i = 0; i < 25; ++i) {
        const int n = i % 5 == 4 ? r * 25 + i - 4 : r * 25 + i;
        events.push_back(make_event(n % 2 ? "burst.a" : "burst.b", "b-" + std::to_string(n)));
      }
      if (pc.post_json("/publish", array_body(events)).status != 200) ++refused;
      std::this_thread::sleep_for(15ms);
    }
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(amqp_intake)

// 5000 events, 20% duplicates, in messages of 1-500 events through the queue: exact /stats;
// the same events again over HTTP are all duplicates.
BOOST_AUTO_TEST_CASE(seed_workload_through_the_queue) {
  const auto queue = fresh_name("seed");
  amqp_client client;
  client.queue(queue);
  const auto w = make_workload(5000, 500, queue, 13);
  for (const auto& m : w.messages) client.send(queue, array_body(m));

  server_process srv(bridge_config(broker().url(), queue, ""));
  log_on_failure guard(srv);
  auto c = make_client(srv);
  const auto n = static_cast<std::int64_t>(w.messages.size());
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "acked") == n; }, 60s),
                     to_text(bridge_stats(c)));
  check_stats(get_stats(c), stats_of(w, 5000));
  const auto b = bridge_stats(c);
  BOOST_TEST(as_int(at(b, "consumed")) == n);
  BOOST_TEST(as_int(at(b, "rejected")) == 0);
  BOOST_TEST(as_string(at(b, "intake")) == "running");
  BOOST_TEST(as_string(at(b, "fanout")) == "off");
  BOOST_TEST(as_int(at(as_object(at(get_stats(c), "rejected")), "invalid")) == 0);
  BOOST_TEST(client.depth(queue) == 0u);

  // /health stays 200 and says what the bridge does; /metrics counts it.
  const auto h = c.get("/health");
  BOOST_TEST(h.status == 200u);
  BOOST_TEST(h.body == R"({"status":"ok","bridge":{"intake":"running","fanout":"off"}})");
  const auto m = c.get("/metrics").body;
  BOOST_TEST(m.find("\nagg_amqp_consumed_total " + std::to_string(n) + "\n") != std::string::npos);
  BOOST_TEST(m.find("\nagg_amqp_acked_total " + std::to_string(n) + "\n") != std::string::npos);
  BOOST_TEST(m.find("\nagg_amqp_rejected_total 0\n") != std::string::npos);
  BOOST_TEST(m.find("\nagg_amqp_up{side=\"intake\"} 1\n") != std::string::npos);

  std::vector<json::object> all;
  for (const auto& msg : w.messages) all.insert(all.end(), msg.begin(), msg.end());
  const auto r = c.post_json("/publish", array_body(all));
  BOOST_TEST_REQUIRE(r.status == 200u, r.body);
  const auto body = as_object(r.json());
  BOOST_TEST(as_int(at(body, "accepted")) == 0);
  BOOST_TEST(as_int(at(body, "duplicates")) == 5000);
  check_stats(get_stats(c), stats_of(w, 10000));
  BOOST_TEST(fetch_all_events(c).size() == static_cast<std::size_t>(w.unique));
}

// An invalid message is rejected without requeue, so the queue's dead-letter exchange gets
// it; nothing of it is stored; it counts once in rejected.invalid; the reason is logged.
BOOST_AUTO_TEST_CASE(invalid_message_is_dead_lettered) {
  const auto queue = fresh_name("dlq-src");
  const auto dlx = fresh_name("dlx");
  const auto dead = fresh_name("dead");
  amqp_client client;
  client.exchange(dlx, "fanout");
  client.queue(dead);
  client.bind(dead, dlx, "");
  client.queue(queue, {{"x-dead-letter-exchange", dlx}});
  client.send(queue, "{not json");
  // Valid JSON, one invalid event: all or nothing, as over HTTP.
  client.send(queue, array_body({make_event("t.ok", "kept-out"),
                                 make_event("t.ok", "bad-ts", {{"n", 1}}, "yesterday")}));
  client.send(queue, single_body(make_event("t.ok", "good")));
  client.send(queue, "<xml/>", "application/xml");

  server_process srv(bridge_config(broker().url(), queue, ""));
  log_on_failure guard(srv);
  auto c = make_client(srv);
  BOOST_TEST_REQUIRE(
      wait_until([&] { return bridge_field(c, "acked") + bridge_field(c, "rejected") == 4; }, 30s),
      to_text(bridge_stats(c)));
  BOOST_TEST(bridge_field(c, "acked") == 1);
  BOOST_TEST(bridge_field(c, "rejected") == 3);
  const auto stats = get_stats(c);
  check_stats(stats, {1, 1, 0, 0, {{"t.ok", 1}}});
  BOOST_TEST(as_int(at(as_object(at(stats, "rejected")), "invalid")) == 3);
  const auto events = fetch_all_events(c);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(as_string(at(events[0], "event_id")) == "good");

  const auto got = client.take(
      dead, [](const auto& g) { return g.size() >= 3; }, 10s);
  BOOST_TEST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0].body == "{not json");
  BOOST_TEST(got[2].body == "<xml/>");
  BOOST_TEST(srv.log_lines([](std::string_view l) {
                  return l.find("amqp_message_rejected") != std::string_view::npos &&
                         l.find("reason=") != std::string_view::npos;
                })
                 .size() == 3u);
  BOOST_TEST(client.depth(queue) == 0u);
}

// kill -9 while consuming under load, three times: after the last restart every message is
// acked (the queue drains and keeps nothing unacked) and every event is stored exactly once.
BOOST_AUTO_TEST_CASE(kill9_while_consuming) {
  const auto queue = fresh_name("kill");
  amqp_client client;
  client.queue(queue);
  const auto w = make_workload(20000, 40, queue, 7);
  for (const auto& m : w.messages) client.send(queue, array_body(m));

  server_process srv(bridge_config(broker().url(), queue, "", {"--amqp-prefetch", "64"}));
  log_on_failure guard(srv);
  int kills = 0;
  for (const std::int64_t at_received : {2000, 7000, 12000}) {
    auto c = make_client(srv);
    wait_until([&] { return as_int(at(get_stats(c), "received")) >= at_received; }, 30s);
    srv.kill9();
    ++kills;
    srv.start();
  }
  BOOST_TEST(kills == 3);
  auto c = make_client(srv);
  BOOST_TEST_REQUIRE(wait_until(
                         [&] {
                           const auto b = bridge_stats(c);
                           return client.depth(queue) == 0 &&
                                  as_int(at(b, "consumed")) == as_int(at(b, "acked")) &&
                                  as_int(at(get_stats(c), "unique_processed")) == w.unique;
                         },
                         60s),
                     to_text(get_stats(c)));
  const auto stats = get_stats(c);
  BOOST_TEST(as_int(at(stats, "unique_processed")) == w.unique);
  BOOST_TEST(as_int(at(stats, "received")) >= w.total);  // redeliveries count as duplicates
  BOOST_TEST(sum_topic_counts(stats) == w.unique);
  const auto events = fetch_all_events(c);
  std::set<event_key> keys;
  for (const auto& e : events) keys.insert(key_of(e));
  BOOST_TEST(events.size() == static_cast<std::size_t>(w.unique));
  BOOST_TEST(keys.size() == static_cast<std::size_t>(w.unique));
  // Nothing was left unacked: after a clean stop nothing goes back to the queue.
  BOOST_TEST(srv.terminate().clean());
  BOOST_TEST(client.depth(queue) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(amqp_fanout)

// Every stored event (never a dropped copy or a conflict) reaches the exchange, in seq
// order, as the /events object with header seq; the cursor is kept: after a clean restart
// nothing is published again.
BOOST_AUTO_TEST_CASE(every_stored_event_in_seq_order) {
  const auto exchange = fresh_name("fan");
  const auto queue = fresh_name("fan-q");
  amqp_client client;
  client.exchange(exchange);  // an existing exchange is used as it is
  client.queue(queue);
  client.bind(queue, exchange, "#");

  server_process srv(bridge_config(broker().url(), "", exchange));
  log_on_failure guard(srv);
  auto c = make_client(srv);
  const auto w = make_workload(3000, 100, exchange, 5);
  for (const auto& m : w.messages)
    BOOST_TEST_REQUIRE(c.post_json("/publish", array_body(m)).status == 200u);
  // A conflict: dropped, never published.
  const auto first = w.messages[0][0];
  auto changed = first;
  changed["payload"] = json::object{{"n", 2}};
  BOOST_TEST_REQUIRE(c.post_json("/publish", single_body(changed)).status == 200u);

  const auto stored = fetch_all_events(c);
  BOOST_TEST_REQUIRE(stored.size() == static_cast<std::size_t>(w.unique));
  const auto last = as_int(at(stored.back(), "seq"));
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "fanout_seq") == last; }, 30s),
                     to_text(bridge_stats(c)));
  const auto got = client.take(
      queue, [&](const auto& g) { return has_all(g, stored.size()); }, 30s);
  check_fanout(got, stored);
  BOOST_TEST(got.size() == stored.size());  // no outage: each exactly once
  const auto b = bridge_stats(c);
  BOOST_TEST(as_int(at(b, "published")) == w.unique);
  BOOST_TEST(as_int(at(b, "confirmed")) == w.unique);
  BOOST_TEST(as_int(at(b, "fanout_lag")) == 0);
  BOOST_TEST(c.get("/metrics").body.find("\nagg_amqp_fanout_lag_events 0\n") != std::string::npos);

  srv.restart();
  auto c2 = make_client(srv);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_state(c2, "fanout") == "running"; }, 20s));
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(bridge_field(c2, "published") == 0);
  BOOST_TEST(bridge_field(c2, "fanout_seq") == last);
  // A new exchange starts at the beginning, history included.
  const auto again = client.take(
      queue, [](const auto& g) { return !g.empty(); }, 300ms);
  BOOST_TEST(again.empty());
}

// The broker vanishes (every connection reset) and comes back during a publish burst:
// nothing is missing afterwards, and first copies stay in seq order.
BOOST_AUTO_TEST_CASE(broker_outage_during_a_burst) {
  const auto exchange = fresh_name("outage");
  const auto queue = fresh_name("outage-q");
  amqp_client client;
  client.exchange_into_queue(exchange, queue);
  tcp_proxy proxy(broker().port());
  proxy.start();

  server_process srv(bridge_config(broker().url_for_port(proxy.port()), "", exchange));
  log_on_failure guard(srv);
  auto c = make_client(srv);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_state(c, "fanout") == "running"; }, 20s));
  std::atomic<int> refused{0};
  std::thread burst = publish_burst(srv, refused);
  std::this_thread::sleep_for(300ms);
  proxy.stop();
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(c.get("/health").status == 200u);  // HTTP keeps working
  std::this_thread::sleep_for(300ms);
  proxy.start();
  burst.join();
  BOOST_TEST(refused.load() == 0);

  const auto stored = fetch_all_events(c);
  BOOST_TEST_REQUIRE(!stored.empty());
  const auto last = as_int(at(stored.back(), "seq"));
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "fanout_seq") == last; }, 30s),
                     to_text(bridge_stats(c)));
  const auto got = client.take(
      queue, [&](const auto& g) { return has_all(g, stored.size()); }, 30s);
  check_fanout(got, stored);
  BOOST_TEST(srv.log().find("amqp_fanout_down") != std::string::npos);
}

// The broker itself stopped (SIGTERM, as a service manager stops it) and started again with
// its data during a publish burst: HTTP publishing is not refused, the fan-out reconnects
// by itself and resumes from its cursor, and the durable queue ends up holding every stored
// event, first copies in seq order.
BOOST_AUTO_TEST_CASE(broker_restart_during_a_burst) {
  const auto exchange = fresh_name("restart");
  const auto queue = fresh_name("restart-q");
  amqp_client{}.exchange_into_queue(exchange, queue);  // durable: they outlive the restart

  server_process srv(bridge_config(broker().url(), "", exchange));
  log_on_failure guard(srv);
  auto c = make_client(srv);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_state(c, "fanout") == "running"; }, 20s));
  std::atomic<int> refused{0};
  std::thread burst = publish_burst(srv, refused);
  std::this_thread::sleep_for(300ms);
  broker().stop();
  BOOST_TEST(c.get("/health").status == 200u);  // the HTTP side does not depend on the broker
  broker().start();
  burst.join();
  BOOST_TEST(refused.load() == 0);

  const auto stored = fetch_all_events(c);
  BOOST_TEST_REQUIRE(stored.size() == 1200u);
  const auto last = as_int(at(stored.back(), "seq"));
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "fanout_seq") == last; }, 60s),
                     to_text(bridge_stats(c)));
  amqp_client client;  // a new connection: the one from before died with the broker
  const auto got = client.take(
      queue, [&](const auto& g) { return has_all(g, stored.size()); }, 30s);
  check_fanout(got, stored);
  BOOST_TEST(srv.log().find("amqp_fanout_down") != std::string::npos);
}

// Killed after publishing and before the confirms came: after the restart the same events
// are published again (at least once; consumers dedup by seq).
BOOST_AUTO_TEST_CASE(kill_between_publish_and_confirm) {
  const auto exchange = fresh_name("unconfirmed");
  const auto queue = fresh_name("unconfirmed-q");
  amqp_client client;
  client.exchange_into_queue(exchange, queue);
  tcp_proxy proxy(broker().port());
  proxy.start();

  server_process srv(bridge_config(broker().url_for_port(proxy.port()), "", exchange));
  log_on_failure guard(srv);
  {
    auto c = make_client(srv);
    BOOST_TEST_REQUIRE(wait_until([&] { return bridge_state(c, "fanout") == "running"; }, 20s));
    proxy.hold_replies(true);  // publications reach the broker, confirms do not come back
    std::vector<json::object> events;
    for (int i = 0; i < 50; ++i) events.push_back(make_event("held", "h-" + std::to_string(i)));
    BOOST_TEST_REQUIRE(c.post_json("/publish", array_body(events)).status == 200u);
    BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "published") == 50; }, 10s));
    // The broker routed them: the consumer has all 50 once.
    const auto first = client.take(
        queue, [](const auto& g) { return g.size() >= 50; }, 10s);
    BOOST_TEST_REQUIRE(first.size() == 50u);
    BOOST_TEST(bridge_field(c, "fanout_seq") == 0);
  }
  srv.kill9();
  proxy.hold_replies(false);
  srv.start();
  auto c = make_client(srv);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "fanout_seq") == 50; }, 30s),
                     to_text(bridge_stats(c)));
  const auto again = client.take(
      queue, [](const auto& g) { return g.size() >= 50; }, 10s);
  BOOST_TEST_REQUIRE(again.size() == 50u);
  check_fanout(again, fetch_all_events(c));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(amqp_reconnect)

// Broker down at start: the service starts, serves HTTP (/health 200 with the bridge's
// state), and the bridge connects when the broker appears: intake and fan-out both work.
BOOST_AUTO_TEST_CASE(broker_down_at_start) {
  const auto queue = fresh_name("late");
  const auto exchange = fresh_name("late-x");
  const auto out = fresh_name("late-out");
  amqp_client client;
  client.exchange_into_queue(exchange, out);
  tcp_proxy proxy(broker().port());  // not listening yet: the broker is "down"

  server_process srv(bridge_config(broker().url_for_port(proxy.port()), queue, exchange));
  log_on_failure guard(srv);
  auto c = make_client(srv);
  // The first connect attempt fails a moment after start (later under the sanitizers): wait
  // for its error rather than read /health at the first instant.
  boost::json::object hb;
  BOOST_TEST_REQUIRE(wait_until(
      [&] {
        const auto h = c.get("/health");
        if (h.status != 200u) return false;
        hb = as_object(at(as_object(h.json()), "bridge"));
        return hb.contains("intake_error");
      },
      10s));
  BOOST_TEST(as_string(at(hb, "intake")) == "connecting");
  BOOST_TEST(as_string(at(hb, "fanout")) == "connecting");
  check_publish(c.post_json("/publish", single_body(make_event("late", "http"))), 1, 1, 0,
                {{"late", "http", "accepted"}});

  proxy.start();
  BOOST_TEST_REQUIRE(wait_until(
      [&] {
        return bridge_state(c, "intake") == "running" && bridge_state(c, "fanout") == "running";
      },
      20s));
  client.send(queue, single_body(make_event("late", "queued")));
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "acked") == 1; }, 10s));
  const auto got = client.take(
      out, [](const auto& g) { return has_all(g, 2); }, 10s);
  check_fanout(got, fetch_all_events(c));
  check_stats(get_stats(c), {2, 2, 0, 0, {{"late", 2}}});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(amqp_pg)

// Two nodes on one PostgreSQL database, one exchange: exactly one publishes (the other is
// standby); when it is killed the other takes over from the stored cursor and nothing is
// missing.
BOOST_AUTO_TEST_CASE(one_publisher_per_exchange_and_take_over) {
  pg_server pg;
  const auto uri = pg.create_database("fanout");
  const auto exchange = fresh_name("pg");
  const auto queue = fresh_name("pg-q");
  amqp_client client;
  client.exchange_into_queue(exchange, queue);

  auto cfg = bridge_config(broker().url(), "", exchange);
  cfg.db = uri;
  server_process n1(cfg);
  log_on_failure guard1(n1);
  auto c1 = make_client(n1);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_state(c1, "fanout") == "running"; }, 20s));
  server_process n2(cfg);
  log_on_failure guard2(n2);
  auto c2 = make_client(n2);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_state(c2, "fanout") == "standby"; }, 20s));

  std::vector<json::object> events;
  for (int i = 0; i < 100; ++i) events.push_back(make_event("pg.a", "p-" + std::to_string(i)));
  BOOST_TEST_REQUIRE(c2.post_json("/publish", array_body(events)).status == 200u);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c1, "fanout_seq") == 100; }, 20s));
  BOOST_TEST(bridge_field(c2, "published") == 0);
  BOOST_TEST(bridge_state(c2, "fanout") == "standby");

  n1.kill9();
  events.clear();
  for (int i = 100; i < 200; ++i) events.push_back(make_event("pg.b", "p-" + std::to_string(i)));
  BOOST_TEST_REQUIRE(c2.post_json("/publish", array_body(events)).status == 200u);
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c2, "fanout_seq") == 200; }, 30s),
                     to_text(bridge_stats(c2)));
  BOOST_TEST(bridge_state(c2, "fanout") == "running");
  const auto got = client.take(
      queue, [](const auto& g) { return has_all(g, 200); }, 20s);
  check_fanout(got, fetch_all_events(c2));
}

// While the store is unavailable (PostgreSQL stopped) the intake neither acks nor rejects:
// the message goes back to the queue, the intake says `paused` in /health, and once the
// database is back the message is stored and acked.
BOOST_AUTO_TEST_CASE(intake_pauses_while_the_store_is_down) {
  pg_server pg;
  const auto uri = pg.create_database("intake");
  const auto queue = fresh_name("pg-in");
  amqp_client client;
  client.queue(queue);
  auto cfg = bridge_config(broker().url(), queue, "");
  cfg.db = uri;
  server_process srv(cfg);
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto intake_state = [&] {
    const auto h = c.get("/health");
    return as_string(at(as_object(at(as_object(h.json()), "bridge")), "intake"));
  };
  client.send(queue, single_body(make_event("pg.in", "before")));
  BOOST_TEST_REQUIRE(wait_until([&] { return bridge_field(c, "acked") == 1; }, 20s));

  pg.stop();
  client.send(queue, single_body(make_event("pg.in", "during")));
  BOOST_TEST_REQUIRE(wait_until([&] { return intake_state() == "paused"; }, 20s));
  BOOST_TEST(c.get("/health").status == 503u);  // the store's failure, not the bridge's
  BOOST_TEST(client.depth(queue) == 1u);        // back in the queue, neither acked nor rejected

  pg.start();
  BOOST_TEST_REQUIRE(wait_until(
      [&] {
        const auto r = c.get("/stats");
        return r.status == 200 &&
               as_int(at(as_object(at(as_object(r.json()), "bridge")), "acked")) == 2 &&
               as_int(at(as_object(r.json()), "unique_processed")) == 2;
      },
      30s));
  BOOST_TEST(bridge_field(c, "rejected") == 0);
  BOOST_TEST(client.depth(queue) == 0u);
  check_stats(get_stats(c), {2, 2, 0, 0, {{"pg.in", 2}}});
}

BOOST_AUTO_TEST_SUITE_END()
