#pragma once

// Boost.Test-side helpers shared by the http_tests files: assertions about the
// contract's response shapes, and printing the server log when a test failed.
// (The harness itself does not depend on Boost.Test.)

#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include "harness.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iostream>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace agg::test {

// Prints the tail of the server's log to stderr when the current test case has failed.
class log_on_failure {
 public:
  explicit log_on_failure(server_process const& server) : server_(server) {}
  ~log_on_failure() {
    namespace ut = boost::unit_test;
    // During unwinding the exception is not in the results yet.
    bool const failing =
        std::uncaught_exceptions() > 0 ||
        !ut::results_collector.results(ut::framework::current_test_case().p_id).passed();
    if (!failing) return;
    auto log = server_.all_logs();
    if (log.size() > 6000) log = "...\n" + log.substr(log.size() - 6000);
    std::cerr << "---- aggregator stderr (" << ut::framework::current_test_case().p_name.get()
              << ", dir " << server_.dir().string() << ") ----\n"
              << log << "---- end of aggregator stderr ----\n";
  }
  log_on_failure(log_on_failure const&) = delete;
  log_on_failure& operator=(log_on_failure const&) = delete;

 private:
  server_process const& server_;
};

inline bool is_json_content_type(http_response const& r) {
  auto ct = r.header("Content-Type");
  return ct && ct->rfind("application/json", 0) == 0;
}

// `r` is an error response: the status, and a JSON body {"error": code, "message":
// non-empty string, "details": array}. Returns the body (empty object when not JSON).
inline json::object check_error(http_response const& r, unsigned status, std::string_view code) {
  BOOST_TEST_CONTEXT("response " << r.status << " " << r.body.substr(0, 600)) {
    BOOST_TEST(r.status == status);
    BOOST_TEST(is_json_content_type(r));
    json::object body;
    try {
      body = as_object(r.json());
    } catch (std::exception const& e) {
      BOOST_TEST(false, "error body is not a JSON object: " << e.what());
      return {};
    }
    auto err = body.find("error");
    BOOST_TEST((err != body.end() && err->value().is_string()), "\"error\" is a string");
    if (!code.empty() && err != body.end() && err->value().is_string())
      BOOST_TEST(std::string_view(err->value().get_string()) == code);
    auto msg = body.find("message");
    BOOST_TEST(
        (msg != body.end() && msg->value().is_string() && !msg->value().get_string().empty()),
        "\"message\" is a non-empty string");
    auto det = body.find("details");
    BOOST_TEST((det != body.end() && det->value().is_array()), "\"details\" is an array");
    return body;
  }
  return {};
}

struct expected_result {
  std::string topic;
  std::string event_id;
  std::string status;  // accepted | duplicate | conflict
};

// `r` is a 200 publish answer with exactly these counts and results (in order).
// Returns the seq of every result (0 where it was missing).
inline std::vector<std::int64_t> check_publish(http_response const& r, std::int64_t received,
                                               std::int64_t accepted, std::int64_t duplicates,
                                               std::vector<expected_result> const& results) {
  std::vector<std::int64_t> seqs;
  BOOST_TEST_CONTEXT("response " << r.status << " " << r.body.substr(0, 1500)) {
    BOOST_TEST_REQUIRE(r.status == 200u);
    BOOST_TEST(is_json_content_type(r));
    auto const doc = r.json();
    auto const& body = as_object(doc);
    BOOST_TEST(as_int(at(body, "received")) == received);
    BOOST_TEST(as_int(at(body, "accepted")) == accepted);
    BOOST_TEST(as_int(at(body, "duplicates")) == duplicates);
    auto const& res = as_array(at(body, "results"));
    BOOST_TEST_REQUIRE(res.size() == results.size());
    for (std::size_t i = 0; i < res.size(); ++i) {
      BOOST_TEST_CONTEXT("results[" << i << "]") {
        auto const& o = as_object(res[i]);
        BOOST_TEST(as_string(at(o, "topic")) == results[i].topic);
        BOOST_TEST(as_string(at(o, "event_id")) == results[i].event_id);
        BOOST_TEST(as_string(at(o, "status")) == results[i].status);
        auto s = o.find("seq");
        BOOST_TEST((s != o.end() && (s->value().is_int64() || s->value().is_uint64())),
                   "seq is an integer");
        seqs.push_back(s != o.end() && (s->value().is_int64() || s->value().is_uint64())
                           ? as_int(s->value())
                           : 0);
      }
    }
  }
  return seqs;
}

// The fields of stats that the tests compare exactly.
struct expected_stats {
  std::int64_t received = 0;
  std::int64_t unique_processed = 0;
  std::int64_t duplicate_dropped = 0;
  std::int64_t conflicts = 0;
  std::vector<std::pair<std::string, std::int64_t>> topic_counts;  // sorted by topic
};

inline void check_stats(json::object const& stats, expected_stats const& want) {
  BOOST_TEST_CONTEXT("stats " << to_text(stats)) {
    BOOST_TEST(as_int(at(stats, "received")) == want.received);
    BOOST_TEST(as_int(at(stats, "unique_processed")) == want.unique_processed);
    BOOST_TEST(as_int(at(stats, "duplicate_dropped")) == want.duplicate_dropped);
    BOOST_TEST(as_int(at(stats, "conflicts")) == want.conflicts);
    json::array topics;
    json::object counts;
    for (auto const& [t, n] : want.topic_counts) {
      topics.emplace_back(t);
      counts[t] = n;
    }
    BOOST_TEST(to_text(at(stats, "topics")) == to_text(topics));
    BOOST_TEST((at(stats, "topic_counts") == json::value(counts)),
               "topic_counts " << to_text(at(stats, "topic_counts")) << " == " << to_text(counts));
    // The invariant of every answer.
    BOOST_TEST(as_int(at(stats, "received")) ==
               as_int(at(stats, "unique_processed")) + as_int(at(stats, "duplicate_dropped")));
  }
}

// RFC 3339 date-time with a time zone (as the service writes received_at/started_at).
inline bool is_rfc3339_utc_like(std::string const& s) {
  static std::regex const re(
      R"(^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
  return std::regex_match(s, re);
}

// Keys of a list of events, in order.
inline std::vector<event_key> keys_of(std::vector<json::object> const& events) {
  std::vector<event_key> out;
  for (auto const& e : events) out.push_back(key_of(e));
  return out;
}

// Publishes a fixed mix over three topics in two requests: 9 received, 6 unique, 3 duplicates
// (one within its request), 1 of them a conflict.
inline void publish_mix(http_client& c) {
  check_publish(
      c.post_json("/publish", array_body({make_event("zeta", "1"), make_event("alpha", "1"),
                                          make_event("mid", "1"), make_event("zeta", "2")})),
      4, 4, 0,
      {{"zeta", "1", "accepted"},
       {"alpha", "1", "accepted"},
       {"mid", "1", "accepted"},
       {"zeta", "2", "accepted"}});
  check_publish(
      c.post_json("/publish", array_body({make_event("zeta", "1"), make_event("mid", "2"),
                                          make_event("alpha", "1", {{"n", 2}}),
                                          make_event("mid", "3"), make_event("mid", "2")})),
      5, 2, 3,
      {{"zeta", "1", "duplicate"},
       {"mid", "2", "accepted"},
       {"alpha", "1", "conflict"},
       {"mid", "3", "accepted"},
       {"mid", "2", "duplicate"}});
}

}  // namespace agg::test
