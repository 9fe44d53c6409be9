#include "api/metrics_page.hpp"
#include "core/exposition.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <limits>

using namespace agg;
using namespace agg::metrics;

namespace {
constexpr std::array<std::uint64_t, 3> test_bounds{10, 100, 1000};
using test_histogram = metrics::histogram<test_bounds, 1000>;
}  // namespace

BOOST_AUTO_TEST_SUITE(exposition_writer)

BOOST_AUTO_TEST_CASE(family_and_samples_in_the_text_format) {
  exposition x;
  x.family("agg_x_total", "counter", "A help with \\ and\nnewline.");
  x.sample("agg_x_total", {}, std::uint64_t{42});
  x.sample("agg_x_total", {{"route", "publish"}, {"code", "200"}}, std::uint64_t{7});
  x.sample("agg_g", {}, std::int64_t{-3});
  x.sample("agg_d", {}, 0.25);
  BOOST_TEST(x.text() ==
             "# HELP agg_x_total A help with \\\\ and\\nnewline.\n"
             "# TYPE agg_x_total counter\n"
             "agg_x_total 42\n"
             "agg_x_total{route=\"publish\",code=\"200\"} 7\n"
             "agg_g -3\n"
             "agg_d 0.25\n");
}

BOOST_AUTO_TEST_CASE(label_values_escape_backslash_quote_and_newline) {
  exposition x;
  x.sample("m", {{"l", "a\\b\"c\nd"}}, std::uint64_t{1});
  BOOST_TEST(x.text() == "m{l=\"a\\\\b\\\"c\\nd\"} 1\n");
}

BOOST_AUTO_TEST_CASE(doubles_shortest_and_special_values) {
  std::string s;
  exposition::append_double(s, 2.5e-05);
  s += ' ';
  exposition::append_double(s, 1.0);
  s += ' ';
  exposition::append_double(s, std::numeric_limits<double>::infinity());
  s += ' ';
  exposition::append_double(s, -std::numeric_limits<double>::infinity());
  s += ' ';
  exposition::append_double(s, std::numeric_limits<double>::quiet_NaN());
  BOOST_TEST(s == "2.5e-05 1 +Inf -Inf NaN");
}

// Buckets are cumulative, "le" is inclusive (an observation equal to a bound is in its bucket),
// +Inf holds everything, _count equals it and _sum is in the exposed unit.
BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative_with_sum_and_count) {
  test_histogram h;
  for (const std::uint64_t v : {0u, 10u, 11u, 100u, 999u, 1000u, 1001u, 5000u}) h.observe(v);
  const auto d = h.data();
  BOOST_TEST(d.counts == (std::vector<std::uint64_t>{2, 2, 2, 2}),
             boost::test_tools::per_element());
  BOOST_TEST(d.sum == 8121u);
  exposition x;
  x.histogram("agg_h_seconds", {{"route", "events"}}, d);
  BOOST_TEST(x.text() ==
             "agg_h_seconds_bucket{route=\"events\",le=\"0.01\"} 2\n"
             "agg_h_seconds_bucket{route=\"events\",le=\"0.1\"} 4\n"
             "agg_h_seconds_bucket{route=\"events\",le=\"1\"} 6\n"
             "agg_h_seconds_bucket{route=\"events\",le=\"+Inf\"} 8\n"
             "agg_h_seconds_sum{route=\"events\"} 8.121\n"
             "agg_h_seconds_count{route=\"events\"} 8\n");
}

BOOST_AUTO_TEST_CASE(empty_histogram_without_labels) {
  test_histogram h;
  exposition x;
  x.histogram("h", {}, h.data());
  BOOST_TEST(x.text() ==
             "h_bucket{le=\"0.01\"} 0\nh_bucket{le=\"0.1\"} 0\nh_bucket{le=\"1\"} 0\n"
             "h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

BOOST_AUTO_TEST_CASE(every_bound_list_ascends) {
  auto ascending = [](const auto& b) {
    return std::is_sorted(b.begin(), b.end()) && std::adjacent_find(b.begin(), b.end()) == b.end();
  };
  BOOST_TEST(ascending(request_ns_bounds));
  BOOST_TEST(ascending(commit_ns_bounds));
  BOOST_TEST(ascending(commit_events_bounds));
  BOOST_TEST(ascending(duplicate_ms_bounds));
}

BOOST_AUTO_TEST_CASE(routes_are_a_fixed_set) {
  BOOST_TEST(route_name(route_of("/publish")) == "publish");
  BOOST_TEST(route_name(route_of("/events?topic=a&wait=5")) == "events");
  BOOST_TEST(route_name(route_of("/subscribe?after=latest")) == "subscribe");
  BOOST_TEST(route_name(route_of("/metrics")) == "metrics");
  BOOST_TEST(route_name(route_of("/stats")) == "stats");
  BOOST_TEST(route_name(route_of("/health")) == "health");
  // A client's path never becomes a label value.
  BOOST_TEST(route_name(route_of("/publish/x")) == "other");
  BOOST_TEST(route_name(route_of("/%2Fevil\"label")) == "other");
  BOOST_TEST(route_name(route_of("")) == "other");
}

BOOST_AUTO_TEST_CASE(requests_counts_per_route_and_status) {
  registry m;
  m.requests(route::publish, 200).inc();
  m.requests(route::publish, 200).inc(2);
  m.requests(route::other, 404).inc();
  m.requests(route::other, 9999).inc();  // out of range: clamped, never out of bounds
  BOOST_TEST(m.requests(route::publish, 200).value() == 3u);
  BOOST_TEST(m.requests(route::other, 404).value() == 1u);
  BOOST_TEST(m.requests(route::other, 599).value() == 1u);
  BOOST_TEST(m.requests(route::events, 200).value() == 0u);
}

// The whole page: the contract's families, each once, and only statuses that happened.
BOOST_AUTO_TEST_CASE(metrics_page_names_every_contract_metric) {
  registry m;
  m.events_received.inc(5);
  m.requests(route::publish, 200).inc(2);
  m.subscribers(transport::sse).add(3);
  m.subscribers(transport::sse).sub(1);
  api::metrics_inputs in;
  in.totals.unique_processed = 4;
  in.queue_capacity = 64;
  in.db_bytes = 4096;
  in.version = "0.1.0";
  in.sqlite_version = "3.40.1";
  in.process.open_fds = 9;
  const std::string t = api::metrics_text(m, in);
  for (const char* line :
       {"# TYPE agg_events_received_total counter\nagg_events_received_total 5\n",
        "agg_requests_total{route=\"publish\",code=\"200\"} 2\n",
        "# TYPE agg_request_duration_seconds histogram\n",
        "agg_request_duration_seconds_count{route=\"other\"} 0\n",
        "# TYPE agg_commit_duration_seconds histogram\n", "# TYPE agg_commit_events histogram\n",
        "# TYPE agg_duplicate_age_seconds histogram\n", "agg_queue_depth 0\n",
        "agg_queue_capacity 64\n", "agg_subscribers{transport=\"sse\"} 2\n",
        "agg_subscribers{transport=\"websocket\"} 0\n", "agg_store_up 1\n", "agg_stored_events 4\n",
        "agg_store_file_bytes{file=\"db\"} 4096\n",
        "agg_build_info{version=\"0.1.0\",boost=\"1.81.0\",sqlite=\"3.40.1\"} 1\n",
        "process_open_fds 9\n"})
    BOOST_TEST(t.find(line) != std::string::npos, line);
  BOOST_TEST(t.find("code=\"404\"") == std::string::npos);
  BOOST_TEST(t.find("file=\"wal\"") == std::string::npos);
  BOOST_TEST(t.find("process_cpu_seconds_total") == std::string::npos);  // not read: left out
  BOOST_TEST(t.back() == '\n');
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_log_lines)

BOOST_AUTO_TEST_CASE(text_line_becomes_one_json_object) {
  std::string line = "duplicate";
  logger::append_field(line, "topic", "order.paid");
  logger::append_field(line, "event_id", "a \"b\"\\\n=");
  logger::append_field(line, "empty", "");
  std::string out;
  logger::append_json_line(out, line, "2026-11-24T10:15:00.456Z", "info");
  BOOST_TEST(out ==
             "{\"ts\":\"2026-11-24T10:15:00.456Z\",\"level\":\"info\",\"msg\":\"duplicate\","
             "\"topic\":\"order.paid\",\"event_id\":\"a \\\"b\\\"\\\\\\n=\",\"empty\":\"\"}\n");
}

BOOST_AUTO_TEST_CASE(level_field_sets_the_level_and_is_not_repeated) {
  std::string out;
  logger::append_json_line(out, "conflict topic=t event_id=e level=warn", "T", "info");
  logger::append_json_line(out, "listening", "T", "info");
  BOOST_TEST(out ==
             "{\"ts\":\"T\",\"level\":\"warn\",\"msg\":\"conflict\",\"topic\":\"t\","
             "\"event_id\":\"e\"}\n{\"ts\":\"T\",\"level\":\"info\",\"msg\":\"listening\"}\n");
}

BOOST_AUTO_TEST_SUITE_END()
