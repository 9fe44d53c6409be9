// The subscription hub on a real SQLite store, with a recording sink in place of a socket:
// what each stream is sent, byte for byte, and when (keep-alives, overflow, shared bytes).
#include "api/subscriptions.hpp"
#include "store/sqlite_store.hpp"

#include "../temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

using namespace agg;
using namespace std::chrono_literals;

namespace {

// Keeps what it was sent. `stuck`: nothing is ever taken by the "socket", so queued_bytes()
// only grows (a subscriber that never reads).
class recording_sink final : public api::stream_sink {
 public:
  explicit recording_sink(bool stuck) : stuck_(stuck) {}

  bool send(message m) override { return send_all({std::move(m)}); }
  bool send_all(std::vector<message> ms) override {
    std::lock_guard lk(mu_);
    if (ended_) return false;
    for (auto& m : ms) {
      if (stuck_) queued_ += m->size();
      sent_.push_back(std::move(m));
    }
    return true;
  }
  std::size_t queued_bytes() const noexcept override {
    std::lock_guard lk(mu_);
    return queued_;
  }
  void end(message last, std::uint16_t code, std::string reason) override {
    std::lock_guard lk(mu_);
    ended_ = true;
    if (last) sent_.push_back(std::move(last));
    code_ = code;
    reason_ = std::move(reason);
  }

  std::vector<message> sent() const {
    std::lock_guard lk(mu_);
    return sent_;
  }
  bool ended() const {
    std::lock_guard lk(mu_);
    return ended_;
  }

 private:
  const bool stuck_;
  mutable std::mutex mu_;
  std::vector<message> sent_;  // guarded by mu_
  std::size_t queued_ = 0;     // guarded by mu_
  bool ended_ = false;         // guarded by mu_
  std::uint16_t code_ = 0;     // guarded by mu_
  std::string reason_;         // guarded by mu_
};

// A store in a temp folder, the hub on an io_context thread, and a way to commit events.
struct fixture {
  explicit fixture(api::subscriptions::settings s)
      : store(store::sqlite_store::open(dir.file("events.db"), {sync_mode::normal})),
        hub(std::make_unique<api::subscriptions>(*store, ioc.get_executor(), s)),
        io([this] { ioc.run(); }) {}
  ~fixture() {
    hub->stop();
    work.reset();
    ioc.stop();
    io.join();
    store->close();  // waits for reads in flight, whose callbacks reach the hub
    hub.reset();
  }

  // Commits events "id-from" .. "id-(to-1)" of `topic`, each with a payload of `pad` bytes.
  void commit(const std::string& topic, int from, int to, std::size_t pad = 10) {
    std::deque<std::string> text;  // the events view these
    std::vector<event> events;
    for (int i = from; i < to; ++i) {
      event e;
      e.topic = text.emplace_back(topic);
      e.event_id = text.emplace_back("id-" + std::to_string(i));
      e.timestamp = "2026-11-24T10:15:00Z";
      e.source = "s";
      e.payload = text.emplace_back("{\"p\":\"" + std::string(pad, 'x') + "\"}");
      e.key_hash = std::hash<std::string>()(topic + "/" + std::to_string(i));
      e.content_hash = 1;
      events.push_back(e);
    }
    std::vector<event_result> results(events.size());
    store::batch_entry entry{events, &results};
    BOOST_TEST_REQUIRE(!store->commit({&entry, 1}));
  }

  // The hub's answer to GET /subscribe; a store of one node gives it before subscribe returns.
  api::answer subscribe(api::subscribe_query q, api::stream_transport t) {
    std::optional<api::answer> out;
    hub->subscribe(std::move(q), t, [&](api::answer a) { out = std::move(a); });
    BOOST_TEST_REQUIRE(out.has_value());
    return std::move(*out);
  }

  // Opens a stream as a transport would, with `sink` as its socket; takes every drain at once.
  std::shared_ptr<recording_sink> open(api::subscribe_query q, api::stream_transport t,
                                       bool stuck = false) {
    auto a = subscribe(std::move(q), t);
    BOOST_TEST_REQUIRE(std::holds_alternative<api::stream_reply>(a));
    replies.push_back(std::get<api::stream_reply>(std::move(a)));
    auto sink = std::make_shared<recording_sink>(stuck);
    replies.back().on_open(sink);
    return sink;
  }
  // The transport's drained signal, for streams whose sink is not stuck.
  void drain_all() {
    for (auto& r : replies) r.on_drained();
  }
  // Drains until `pred` holds or 5 s pass.
  bool wait_for(const std::function<bool()>& pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      drain_all();
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  temp_dir dir;
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
  std::unique_ptr<store::sqlite_store> store;
  std::unique_ptr<api::subscriptions> hub;
  std::thread io;
  std::vector<api::stream_reply> replies;
};

api::subscribe_query from(std::int64_t after) {
  api::subscribe_query q;
  q.after = after;
  return q;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(subscriptions)

BOOST_AUTO_TEST_CASE(a_committed_batch_is_framed_once_and_shared_by_every_stream) {
  fixture f({.max_subscribers = 10, .buffer_bytes = 1 << 20, .keepalive = 60s});
  auto a = f.open(from(0), api::stream_transport::ndjson);
  auto b = f.open(from(0), api::stream_transport::ndjson);
  auto s = f.open(from(0), api::stream_transport::sse);
  BOOST_TEST(f.wait_for([&] { return f.hub->open_streams() == 3; }));
  // Let the three streams finish their (empty) history and go live.
  f.drain_all();
  std::this_thread::sleep_for(100ms);
  f.commit("t", 0, 2);
  // Streams that take the whole commit get it as one message: both events back to back.
  BOOST_TEST_REQUIRE(f.wait_for([&] { return a->sent().size() == 1 && b->sent().size() == 1; }));
  BOOST_TEST_REQUIRE(f.wait_for([&] { return s->sent().size() == 2; }));
  const auto ma = a->sent(), mb = b->sent(), ms = s->sent();
  BOOST_TEST(ma[0].get() == mb[0].get());  // the same bytes, not a copy per stream
  const std::string& both = *ma[0];
  const auto cut = both.find('\n') + 1;
  const std::string first = both.substr(0, cut), second = both.substr(cut);
  BOOST_TEST(first ==
             R"({"seq":1,"topic":"t","event_id":"id-0","timestamp":"2026-11-24T10:15:00Z",)"
             R"("source":"s","payload":{"p":"xxxxxxxxxx"},"received_at":)" +
                 first.substr(first.find("\"received_at\":") + 14));
  BOOST_TEST(second.substr(0, 38) == R"({"seq":2,"topic":"t","event_id":"id-1")");
  BOOST_TEST(second.back() == '\n');
  BOOST_TEST(std::count(both.begin(), both.end(), '\n') == 2);
  BOOST_TEST(*ms[0] == "retry: 1000\n\n");
  BOOST_TEST(*ms[1] == "id: 1\nevent: event\ndata: " + first.substr(0, first.size() - 1) +
                           "\n\nid: 2\nevent: event\ndata: " + second.substr(0, second.size() - 1) +
                           "\n\n");
  const auto by = f.hub->open_by_transport();
  BOOST_TEST(by[static_cast<std::size_t>(api::stream_transport::ndjson)] == 2u);
  BOOST_TEST(by[static_cast<std::size_t>(api::stream_transport::sse)] == 1u);
  BOOST_TEST(by[static_cast<std::size_t>(api::stream_transport::websocket)] == 0u);
}

// WebSocket sends one message per event, and a filter that takes part of a commit gets its
// events one by one; both share each event's bytes with the other streams of their transport.
BOOST_AUTO_TEST_CASE(websocket_and_partial_filters_get_one_message_per_event) {
  fixture f({.max_subscribers = 10, .buffer_bytes = 1 << 20, .keepalive = 60s});
  auto w1 = f.open(from(0), api::stream_transport::websocket);
  auto w2 = f.open(from(0), api::stream_transport::websocket);
  auto q = from(0);
  q.filter.exact = {"b"};
  auto only_b = f.open(q, api::stream_transport::ndjson);
  BOOST_TEST(f.wait_for([&] { return f.hub->open_streams() == 3; }));
  f.drain_all();
  std::this_thread::sleep_for(100ms);
  {
    // One commit holding topics a, b, a.
    std::deque<std::string> text;
    std::vector<event> events;
    for (const char* t : {"a", "b", "a"}) {
      event e;
      e.topic = text.emplace_back(t);
      e.event_id = text.emplace_back("id-" + std::to_string(events.size()));
      e.timestamp = "2026-11-24T10:15:00Z";
      e.source = "s";
      e.payload = "{}";
      e.key_hash = events.size() + 1;
      e.content_hash = 1;
      events.push_back(e);
    }
    std::vector<event_result> results(events.size());
    store::batch_entry entry{events, &results};
    BOOST_TEST_REQUIRE(!f.store->commit({&entry, 1}));
  }
  BOOST_TEST_REQUIRE(f.wait_for([&] { return w1->sent().size() == 3 && w2->sent().size() == 3; }));
  BOOST_TEST_REQUIRE(f.wait_for([&] { return only_b->sent().size() == 1; }));
  const auto m1 = w1->sent(), m2 = w2->sent();
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(m1[i].get() == m2[i].get());
    BOOST_TEST(m1[i]->substr(0, 8) == "{\"seq\":" + std::to_string(i + 1));
    BOOST_TEST(m1[i]->back() == '}');  // a WebSocket message has no line end
  }
  BOOST_TEST(*only_b->sent()[0] == *m1[1] + "\n");
}

BOOST_AUTO_TEST_CASE(keep_alive_after_the_quiet_interval) {
  fixture f({.max_subscribers = 10, .buffer_bytes = 1 << 20, .keepalive = 100ms});
  auto n = f.open({}, api::stream_transport::ndjson);
  auto s = f.open({}, api::stream_transport::sse);
  BOOST_TEST_REQUIRE(f.wait_for([&] { return n->sent().size() >= 1 && s->sent().size() >= 2; }));
  BOOST_TEST(*n->sent()[0] == "\n");
  BOOST_TEST(*s->sent()[0] == "retry: 1000\n\n");
  BOOST_TEST(*s->sent()[1] == ": keep-alive\n\n");
}

BOOST_AUTO_TEST_CASE(a_stream_past_its_budget_ends_naming_the_last_seq_sent) {
  fixture f({.max_subscribers = 10, .buffer_bytes = 2000, .keepalive = 60s});
  auto stuck = f.open({}, api::stream_transport::ndjson, /*stuck=*/true);
  std::this_thread::sleep_for(100ms);  // its empty history read, then live
  f.commit("t", 0, 20, 300);           // ~450 bytes each: the budget holds four
  BOOST_TEST_REQUIRE(f.wait_for([&] { return stuck->ended(); }));
  const auto sent = stuck->sent();
  BOOST_TEST_REQUIRE(sent.size() == 5u);
  BOOST_TEST(*sent[4] == "{\"overflow\":{\"last_seq\":4}}\n");
}

BOOST_AUTO_TEST_CASE(max_subscribers_then_503_with_retry_after) {
  fixture f({.max_subscribers = 1, .buffer_bytes = 1 << 20, .keepalive = 60s});
  f.open({}, api::stream_transport::websocket);
  auto a = f.subscribe({}, api::stream_transport::sse);
  BOOST_TEST_REQUIRE(std::holds_alternative<api::reply>(a));
  const auto& r = std::get<api::reply>(a);
  BOOST_TEST(static_cast<unsigned>(r.status) == 503u);
  BOOST_TEST(r.retry_after == 1);
  BOOST_TEST(f.hub->open_streams() == 1u);
  f.replies.back().on_closed();
  BOOST_TEST(f.hub->open_streams() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
