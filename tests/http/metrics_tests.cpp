// GET /metrics (CONTRACT.md, v2): exact counters after a known workload, agg_stored_events ==
// /stats unique_processed, `promtool check metrics`, --log-format json; and (suite prometheus,
// ctest label "external") a real Prometheus scraping the service every second, with the rules of
// monitoring/alerts.yml loaded and every query of monitoring/grafana-dashboard.json answered.
#define BOOST_TEST_DYN_LINK
#include "child_process.hpp"
#include "test_support.hpp"

#include <boost/json/parse.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace agg::test;
using namespace std::chrono_literals;
using verb = boost::beast::http::verb;

namespace {

// Every sample of an exposition text, by its series as written (name{labels}).
std::map<std::string, double> samples_of(std::string const& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double value(std::map<std::string, double> const& m, std::string const& series) {
  const auto it = m.find(series);
  BOOST_TEST((it != m.end()), "series " << series << " is exposed");
  return it == m.end() ? -1 : it->second;
}

std::string scrape(http_client& c) {
  auto r = c.get("/metrics");
  BOOST_TEST_REQUIRE(r.status == 200u, r.body);
  BOOST_TEST(r.header("Content-Type").value_or("") == "text/plain; version=0.0.4");
  return r.body;
}

// Runs a shell command; returns its exit status and output (stdout and stderr).
std::pair<int, std::string> run_shell(std::string const& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  while (const auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string read_text(std::filesystem::path const& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

// CONTRACT: counters count what this process decided; agg_stored_events equals /stats
// unique_processed (also after a restart, when the counters start again from 0).
BOOST_AUTO_TEST_CASE(counters_are_exact_after_a_known_workload) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_mix(c);
  BOOST_TEST(c.get("/nowhere").status == 404u);
  BOOST_TEST(c.post_json("/publish", "{").status == 400u);
  BOOST_TEST(c.get("/events?limit=2").status == 200u);
  const auto stats = get_stats(c);

  auto m = samples_of(scrape(c));
  BOOST_TEST(value(m, "agg_events_received_total") == 9);
  BOOST_TEST(value(m, "agg_events_stored_total") == 6);
  BOOST_TEST(value(m, "agg_events_duplicate_total") == 3);
  BOOST_TEST(value(m, "agg_events_conflict_total") == 1);
  BOOST_TEST(value(m, "agg_stored_events") == as_int(at(stats, "unique_processed")));
  BOOST_TEST(value(m, "agg_stored_events") == 6);
  BOOST_TEST(value(m, R"(agg_requests_total{route="publish",code="200"})") == 2);
  BOOST_TEST(value(m, R"(agg_requests_total{route="publish",code="400"})") == 1);
  BOOST_TEST(value(m, R"(agg_requests_total{route="other",code="404"})") == 1);
  BOOST_TEST(value(m, R"(agg_requests_total{route="events",code="200"})") == 1);
  BOOST_TEST(value(m, R"(agg_requests_total{route="stats",code="200"})") == 1);
  // This scrape is counted once its head is written: after its body was made.
  BOOST_TEST(m.count(R"(agg_requests_total{route="metrics",code="200"})") == 0u);
  BOOST_TEST(value(m, R"(agg_requests_rejected_total{reason="invalid"})") == 2);
  BOOST_TEST(value(m, R"(agg_requests_rejected_total{reason="overloaded"})") == 0);
  BOOST_TEST(value(m, R"(agg_request_duration_seconds_count{route="publish"})") == 3);
  BOOST_TEST(value(m, R"(agg_request_duration_seconds_bucket{route="publish",le="+Inf"})") == 3);
  BOOST_TEST(value(m, R"(agg_request_duration_seconds_count{route="subscribe"})") == 0);
  // Two requests, each its own commit (the second waits for the first's answer).
  BOOST_TEST(value(m, "agg_commit_events_count") == 2);
  BOOST_TEST(value(m, "agg_commit_events_sum") == 6);
  BOOST_TEST(value(m, "agg_commit_duration_seconds_count") == 2);
  BOOST_TEST(value(m, R"(agg_commit_events_bucket{le="1"})") == 0);
  BOOST_TEST(value(m, R"(agg_commit_events_bucket{le="2"})") == 1);  // the second: 2 new
  BOOST_TEST(value(m, R"(agg_commit_events_bucket{le="5"})") == 2);  // the first: 4 new
  // The duplicates came within a second of their first copies (one in the same commit).
  BOOST_TEST(value(m, "agg_duplicate_age_seconds_count") == 3);
  BOOST_TEST(value(m, R"(agg_duplicate_age_seconds_bucket{le="10"})") == 3);
  BOOST_TEST(value(m, "agg_queue_depth") == 0);
  BOOST_TEST(value(m, "agg_queue_capacity") == 65536);
  BOOST_TEST(value(m, "agg_store_up") == 1);
  BOOST_TEST(value(m, R"(agg_subscribers{transport="sse"})") == 0);
  BOOST_TEST(value(m, R"(agg_subscribers{transport="websocket"})") == 0);
  BOOST_TEST(value(m, R"(agg_subscribers{transport="ndjson"})") == 0);
  BOOST_TEST(value(m, "agg_dedup_index_entries") == 6);
  BOOST_TEST(value(m, "agg_dedup_index_bytes") > 0);
  BOOST_TEST(value(m, R"(agg_store_file_bytes{file="db"})") > 0);
  BOOST_TEST(value(m, R"(agg_store_file_bytes{file="wal"})") > 0);
  BOOST_TEST(value(m, "process_open_fds") > 0);
  BOOST_TEST(value(m, "process_resident_memory_bytes") > 1e6);
  BOOST_TEST(value(m, "process_cpu_seconds_total") >= 0);
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  BOOST_TEST(std::abs(value(m, "process_start_time_seconds") - now) < 120);

  // The previous scrape counts now.
  m = samples_of(scrape(c));
  BOOST_TEST(value(m, R"(agg_requests_total{route="metrics",code="200"})") == 1);

  // A restart: this process decided nothing yet, the store still holds 6.
  srv.restart();
  auto c2 = make_client(srv);
  m = samples_of(scrape(c2));
  BOOST_TEST(value(m, "agg_events_received_total") == 0);
  BOOST_TEST(value(m, "agg_stored_events") == 6);
  BOOST_TEST(value(m, "agg_dedup_index_entries") == 6);
  check_publish(c2.post_json("/publish", array_body({make_event("zeta", "1")})), 1, 0, 1,
                {{"zeta", "1", "duplicate"}});
  m = samples_of(scrape(c2));
  BOOST_TEST(value(m, "agg_events_duplicate_total") == 1);
  BOOST_TEST(value(m, "agg_stored_events") == as_int(at(get_stats(c2), "unique_processed")));
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  auto r = c.request(verb::post, "/metrics", "x");
  BOOST_TEST(r.status == 405u);
  BOOST_TEST(r.header("Allow").value_or("") == "GET, HEAD");
}

// The output passes Prometheus's own linter (Debian's prometheus package ships promtool).
BOOST_AUTO_TEST_CASE(promtool_check_metrics_passes) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_mix(c);
  const auto file = srv.dir() / "metrics.txt";
  std::ofstream(file) << scrape(c);
  const auto [rc, out] = run_shell("promtool check metrics < " + file.string());
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out == "", out);  // no lint warning either
}

// --log-format json: one JSON object per line with ts, level, msg and the event's fields.
BOOST_AUTO_TEST_CASE(json_log_lines) {
  server_config cfg;
  cfg.args = {"--log-format", "json"};
  server_process srv(cfg);
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_mix(c);
  BOOST_TEST_REQUIRE(srv.wait_for_log("\"conflict\":\"true\"", 5s));
  srv.terminate();
  std::istringstream in(srv.log());
  std::string line;
  int lines = 0, duplicates = 0, conflicts = 0;
  while (std::getline(in, line)) {
    BOOST_TEST_CONTEXT(line) {
      json::object o;
      BOOST_REQUIRE_NO_THROW(o = boost::json::parse(line).as_object());
      ++lines;
      BOOST_TEST(is_rfc3339_utc_like(as_string(at(o, "ts"))));
      if (as_string(at(o, "msg")) != "duplicate") continue;
      const auto level = as_string(at(o, "level"));
      if (o.contains("conflict")) {
        ++conflicts;
        BOOST_TEST(level == "warn");
        BOOST_TEST(as_string(at(o, "topic")) == "alpha");
        BOOST_TEST(as_string(at(o, "event_id")) == "1");
        BOOST_TEST(as_string(at(o, "conflict")) == "true");
      } else {
        ++duplicates;
        BOOST_TEST(level == "info");
        BOOST_TEST((as_string(at(o, "topic")) == "zeta" || as_string(at(o, "topic")) == "mid"));
      }
    }
  }
  BOOST_TEST(duplicates == 2);
  BOOST_TEST(conflicts == 1);
  BOOST_TEST(lines >= 5);  // listening, 3 dropped copies, shutdown lines
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 with its own config and data
// folder, scraping `target` every second with monitoring/alerts.yml loaded. Stopped (SIGTERM,
// then SIGKILL) by the destructor; killed by the kernel if the test process dies.
class prometheus_process {
 public:
  prometheus_process(std::filesystem::path const& dir, std::string const& target)
      : port_(free_port()) {
    const auto config = dir / "prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          << "rule_files: [\"" << AGG_SOURCE_DIR << "/monitoring/alerts.yml\"]\n"
                          << "scrape_configs:\n  - job_name: aggregator\n"
                          << "    static_configs: [{targets: [\"" << target << "\"]}]\n";
    log_ = dir / "prometheus.log";
    pid_ = spawn_logged(
        {"/usr/bin/prometheus", "--config.file=" + config.string(),
         "--storage.tsdb.path=" + (dir / "prometheus-data").string(),
         "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        log_.string(), {});
  }
  ~prometheus_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  prometheus_process(prometheus_process const&) = delete;
  prometheus_process& operator=(prometheus_process const&) = delete;

  std::uint16_t port() const { return port_; }
  std::string log() const { return read_text(log_); }

 private:
  std::uint16_t port_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

// GET /api/v1/query: the "data" of a successful answer; throws otherwise.
json::object prom_query(http_client& c, std::string const& promql) {
  auto r = c.get("/api/v1/query?query=" + url_encode(promql));
  auto doc = r.json();
  auto const& o = as_object(doc);
  if (r.status != 200 || as_string(at(o, "status")) != "success")
    throw std::runtime_error("query " + promql + ": " + std::to_string(r.status) + " " + r.body);
  return as_object(at(o, "data"));
}

// The single value of an instant vector query, NaN when it has no sample.
double prom_value(http_client& c, std::string const& promql) {
  auto const data = prom_query(c, promql);
  auto const& result = as_array(at(data, "result"));
  if (result.size() != 1) return std::nan("");
  return std::stod(as_string(as_array(at(as_object(result[0]), "value"))[1]));
}

// Polls until `promql` equals `want` (at most `timeout`).
bool prom_wait(http_client& c, std::string const& promql, double want,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (prom_value(c, promql) == want) return true;
    } catch (std::exception const&) {
      // not up yet
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(prometheus)

BOOST_AUTO_TEST_CASE(promtool_check_rules_passes) {
  const auto [rc, out] =
      run_shell(std::string("promtool check rules ") + AGG_SOURCE_DIR + "/monitoring/alerts.yml");
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("SUCCESS") != std::string::npos, out);
}

// A real Prometheus scrapes the service every second: its queries give the workload's exact
// figures, every rule of monitoring/alerts.yml evaluates without error, every recorded series
// and every query of every dashboard panel returns data. ~10 s.
BOOST_AUTO_TEST_CASE(real_prometheus_scrapes_rules_and_dashboard) {
  server_process srv;
  log_on_failure guard(srv);
  auto c = make_client(srv);
  publish_mix(c);
  prometheus_process prom(srv.dir(), "127.0.0.1:" + std::to_string(srv.port()));
  BOOST_TEST_CONTEXT("prometheus log: " << prom.log()) {
    http_client p("127.0.0.1", prom.port(), 5s);
    BOOST_TEST_REQUIRE(prom_wait(p, "agg_events_stored_total", 6, 30s));
    BOOST_TEST(prom_value(p, "agg_events_received_total") == 9);
    BOOST_TEST(prom_value(p, "agg_events_duplicate_total") == 3);
    BOOST_TEST(prom_value(p, "agg_events_conflict_total") == 1);
    BOOST_TEST(prom_value(p, "agg_stored_events") == 6);
    BOOST_TEST(prom_value(p, R"(agg_requests_total{route="publish",code="200"})") == 2);
    BOOST_TEST(prom_value(p, R"(up{job="aggregator"})") == 1);
    BOOST_TEST(prom_value(p, "agg_store_up") == 1);
    BOOST_TEST(prom_value(p, "agg_duplicate_age_seconds_count") == 3);

    // Rates need two samples in their window, the rules one evaluation after that.
    BOOST_TEST_REQUIRE(
        prom_wait(p, R"(count_over_time(up{job="aggregator"}[1m]) >= bool 3)", 1, 15s));
    std::this_thread::sleep_for(1500ms);

    // Every rule loaded and evaluated without error; every recorded series has data; every
    // alert expression is a valid query.
    auto rules_doc = p.get("/api/v1/rules").json();
    int alerts = 0, records = 0;
    for (auto const& g : as_array(at(as_object(at(as_object(rules_doc), "data")), "groups")))
      for (auto const& rv : as_array(at(as_object(g), "rules"))) {
        auto const& rule = as_object(rv);
        const auto name = as_string(at(rule, "name"));
        BOOST_TEST_CONTEXT("rule " << name) {
          BOOST_TEST(as_string(at(rule, "health")) == "ok", to_text(rule));
          if (as_string(at(rule, "type")) == "recording") {
            ++records;
            BOOST_TEST(as_array(at(prom_query(p, name), "result")).size() >= 1u);
          } else {
            ++alerts;
            BOOST_CHECK_NO_THROW(prom_query(p, as_string(at(rule, "query"))));
          }
        }
      }
    BOOST_TEST(alerts == 6);
    BOOST_TEST(records == 4);

    // Every query of every panel of the dashboard returns a result ($__rate_interval is
    // Grafana's; one minute covers the samples taken so far).
    auto dash = boost::json::parse(
        read_text(std::string(AGG_SOURCE_DIR) + "/monitoring/grafana-dashboard.json"));
    int queries = 0;
    for (auto const& panel : as_array(at(as_object(dash), "panels")))
      for (auto const& t : as_array(at(as_object(panel), "targets"))) {
        std::string expr = as_string(at(as_object(t), "expr"));
        for (std::size_t at_ = expr.find("$__rate_interval"); at_ != std::string::npos;
             at_ = expr.find("$__rate_interval"))
          expr.replace(at_, 16, "1m");
        BOOST_TEST_CONTEXT("panel " << as_string(at(as_object(panel), "title")) << ": " << expr) {
          ++queries;
          BOOST_TEST(as_array(at(prom_query(p, expr), "result")).size() >= 1u);
        }
      }
    BOOST_TEST(queries == 31);
  }
}

BOOST_AUTO_TEST_SUITE_END()
