#include "consumer/consumer.hpp"

#include "api/responses.hpp"
#include "store/sqlite_store.hpp"

#include "../temp_dir.hpp"
#include "api/publish_parser.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

using namespace agg;

namespace {

std::string ev(const std::string& topic, const std::string& id, const std::string& payload = "{}") {
  return R"({"topic":")" + topic + R"(","event_id":")" + id +
         R"(","timestamp":"2026-11-24T10:15:00Z","source":"s","payload":)" + payload + "}";
}

struct harness {
  temp_dir dir;
  logger log{log_level::error};
  // Declared before the consumer so it is destroyed after it: the consumer may still post
  // completions to it while it stops.
  boost::asio::io_context ioc;
  std::unique_ptr<store::sqlite_store> store;
  std::unique_ptr<consumer::consumer> c;

  explicit harness(consumer::consumer_options o = {}) { open(o); }
  void open(consumer::consumer_options o = {}) {
    c.reset();
    store.reset();  // a clean stop: closes the file before it is opened again
    store = store::sqlite_store::open(dir.file("events.db"), {});
    c = std::make_unique<consumer::consumer>(*store, o, log);
  }

  // What /stats would show.
  api::stats_snapshot snapshot() const {
    api::stats_snapshot s;
    static_cast<store::store_stats&>(s) = store->stats();
    s.queue_depth = c->queue_depth();
    s.queue_capacity = c->queue_capacity();
    return s;
  }

  std::shared_ptr<consumer::publish_job> job_for(const std::string& body) {
    auto parsed = api::parse_publish(body, 10000);
    BOOST_REQUIRE((parsed.code == errc::ok));
    auto job = std::make_shared<consumer::publish_job>();
    job->events = std::move(parsed.events);
    job->text = std::move(parsed.text);
    job->executor = ioc.get_executor();
    return job;
  }

  // Submits one request body and waits for its answer.
  std::shared_ptr<consumer::publish_job> publish(const std::string& body) {
    auto job = job_for(body);
    bool done = false;
    job->on_done = [&](consumer::publish_job&) { done = true; };
    // The work guard keeps run_one() waiting for the completion the consumer posts.
    auto guard = boost::asio::make_work_guard(ioc);
    BOOST_REQUIRE((c->submit(job) == errc::ok));
    ioc.restart();
    while (!done) ioc.run_one();
    return job;
  }

  std::vector<store::stored_event> events(std::optional<std::string> topic = std::nullopt) {
    std::promise<std::vector<store::stored_event>> p;
    store->read_page({std::move(topic), 0, 10000},
                     [&](boost::system::error_code ec, std::vector<store::stored_event> rows) {
                       BOOST_TEST(!ec);
                       p.set_value(std::move(rows));
                     });
    return p.get_future().get();
  }
};

std::string statuses(const consumer::publish_job& j) {
  std::string s;
  for (const auto& r : j.results)
    s += std::string(to_string(r.status)) + ":" + std::to_string(r.seq) + " ";
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(consumer_tests)

BOOST_AUTO_TEST_CASE(dedup_within_and_across_requests) {
  harness h;
  auto j1 = h.publish("[" + ev("t", "a") + "," + ev("t", "b") + "," + ev("t", "a") + "]");
  BOOST_TEST(statuses(*j1) == "accepted:1 accepted:2 duplicate:1 ");
  auto j2 = h.publish("[" + ev("t", "b") + "," + ev("u", "a") + "]");
  BOOST_TEST(statuses(*j2) == "duplicate:2 accepted:3 ");  // same id, other topic: new event
  const auto s = h.snapshot();
  BOOST_TEST(s.totals.received == 5u);
  BOOST_TEST(s.totals.unique_processed == 3u);
  BOOST_TEST(s.totals.duplicate_dropped == 2u);
  BOOST_TEST(s.totals.conflicts == 0u);
  BOOST_REQUIRE(s.topic_counts.size() == 2u);
  BOOST_TEST(s.topic_counts[0].second == 2u);
  BOOST_TEST(s.topic_counts[1].second == 1u);
  BOOST_TEST(h.events().size() == 3u);
  BOOST_TEST(h.events(std::string("u")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(conflicts_counted_first_copy_wins) {
  harness h;
  h.publish(ev("t", "a", R"({"x":1,"y":[1,2]})"));
  auto same = h.publish(ev("t", "a", R"({ "y":[1, 2], "x":1.0 })"));
  BOOST_TEST(statuses(*same) == "duplicate:1 ");
  auto diff = h.publish(ev("t", "a", R"({"x":2})"));
  BOOST_TEST(statuses(*diff) == "conflict:1 ");
  const auto s = h.snapshot();
  BOOST_TEST(s.totals.duplicate_dropped == 2u);
  BOOST_TEST(s.totals.conflicts == 1u);
  BOOST_TEST(h.events().at(0).payload == R"({"x":1,"y":[1,2]})");
}

BOOST_AUTO_TEST_CASE(state_recovered_after_restart) {
  consumer::consumer_options o;
  o.linger = std::chrono::microseconds(0);
  harness h(o);
  h.publish("[" + ev("t", "a") + "," + ev("t", "b") + "]");
  h.store->count_rejected(1, 0);
  h.open(o);  // destroys the consumer (clean stop) and recovers from the file
  auto j = h.publish("[" + ev("t", "b") + "," + ev("t", "c") + "]");
  BOOST_TEST(statuses(*j) == "duplicate:2 accepted:3 ");
  const auto s = h.snapshot();
  BOOST_TEST(s.totals.received == 4u);
  BOOST_TEST(s.totals.unique_processed == 3u);
  BOOST_TEST(s.totals.rejected_invalid == 1u);
}

BOOST_AUTO_TEST_CASE(whole_request_admission_limits) {
  consumer::consumer_options o;
  o.queue_capacity = 2;
  harness h(o);
  auto job = h.job_for("[" + ev("t", "a") + "," + ev("t", "b") + "," + ev("t", "c") + "]");
  job->on_done = [](consumer::publish_job&) {};
  BOOST_TEST((h.c->submit(job) == errc::too_large));  // can never fit: not an overload
  BOOST_TEST(h.snapshot().queue_depth == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_submitters_store_each_key_once) {
  consumer::consumer_options o;
  o.batch_max = 64;
  harness h(o);
  constexpr int threads = 8, keys = 200;
  std::string body = "[";
  for (int i = 0; i < keys; ++i) body += (i ? "," : "") + ev("t", "k" + std::to_string(i));
  body += "]";
  std::atomic<int> answered{0};
  std::vector<std::shared_ptr<consumer::publish_job>> jobs;
  for (int t = 0; t < threads; ++t) {
    jobs.push_back(h.job_for(body));
    jobs.back()->on_done = [&](consumer::publish_job&) { ++answered; };
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, job = jobs[static_cast<std::size_t>(t)]] {
      while (h.c->submit(job) != errc::ok) std::this_thread::yield();
    });
  auto guard = boost::asio::make_work_guard(h.ioc);
  for (auto& t : ts) t.join();
  h.ioc.restart();
  while (answered < threads) h.ioc.run_one();
  const auto s = h.snapshot();
  BOOST_TEST(s.totals.unique_processed == static_cast<std::uint64_t>(keys));
  BOOST_TEST(s.totals.duplicate_dropped == static_cast<std::uint64_t>(keys * (threads - 1)));
  BOOST_TEST(h.events().size() == static_cast<std::size_t>(keys));
}

// Group commit: requests that wait while a commit is under way share the next transaction.
// The first request's commit is held (its listener blocks the writer) until 63 more requests
// are admitted; one transaction per request would then take 64 commits, group commit two.
BOOST_AUTO_TEST_CASE(requests_waiting_for_a_commit_share_the_next_one) {
  harness h;
  std::promise<void> first_committed, release;
  auto released = release.get_future().share();
  bool first = true;
  store::commit_notice first_notice;  // written on the writer thread before first_committed
  h.store->add_commit_listener([&, released](const store::commit_notice& n) {
    if (!first) return;
    first = false;
    first_notice = n;
    first_committed.set_value();
    released.wait();
  });
  constexpr int requests = 64;
  std::vector<std::shared_ptr<consumer::publish_job>> jobs;
  std::atomic<int> answered{0};
  for (int i = 0; i < requests; ++i) {
    jobs.push_back(h.job_for(ev("t", "k" + std::to_string(i))));
    jobs.back()->on_done = [&](consumer::publish_job&) { ++answered; };
  }
  auto guard = boost::asio::make_work_guard(h.ioc);
  BOOST_REQUIRE((h.c->submit(jobs[0]) == errc::ok));
  first_committed.get_future().wait();
  BOOST_TEST(first_notice.first_seq == 1);
  BOOST_TEST(first_notice.last_seq == 1);
  for (int i = 1; i < requests; ++i)
    BOOST_REQUIRE((h.c->submit(jobs[static_cast<std::size_t>(i)]) == errc::ok));
  release.set_value();
  h.ioc.restart();
  while (answered < requests) h.ioc.run_one();
  BOOST_TEST(h.store->commits() == 2u);
  BOOST_TEST(h.snapshot().totals.unique_processed == static_cast<std::uint64_t>(requests));
  std::int64_t seq = 0;
  for (const auto& j : jobs) BOOST_TEST(j->results.at(0).seq == ++seq);  // submission order
}

BOOST_AUTO_TEST_SUITE_END()
