// bench-report: renders BENCHMARKS.md from the results scripts/bench collected.
//
// scripts/bench only orchestrates: every tool it runs prints its result as JSON (agg-load,
// bench-sqlite-append, wrk through bench/wrk-report.lua), and the script appends each one,
// wrapped as {"label": ..., "result": {...}}, to a JSON-lines file together with the facts
// only the script knows (process start and stop times, exit codes, the machine). This
// program does all the arithmetic (ratios, targets, per-event figures) and the Markdown.
// It is C++ with Boost.JSON rather than a script so that the benchmark needs nothing the
// build does not already install.
//
// Labels: "env", "env-end", "sqlite", "nginx-single", "nginx-batch", "wrk-nginx", and per
// build of the service ("current", and "baseline" with BENCH_BASELINE) "<build>/<step>"
// for seed-single, seed-batch, single, single-scraped, scrapes, wrk-single, wrk-single-16,
// sqlite-before, fill-start, sqlite-after, fill-middle, fill-end, after-restart (agg-load,
// bench-sqlite-append or wrk results),
// "<build>/server-fresh" and
// "<build>/server-restart" (spawn_unix_ns, ready_unix_ns, stop_ns, exit), "<build>/db"
// (bytes); "handoff" (bench-handoff), "memory/seed-single", "memory/nginx-before",
// "memory/single", "memory/nginx-after", "memory/wrk-single" and "memory/server" (the floor of
// step 3a: bench-memory-store, between two more agg-load runs against nginx);
// "command" lines (step, cmd) and "perf" lines (step, samples, command, self,
// children: files of `perf report -t '|'` output) or one "perf-note" (note).

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace json = boost::json;

constexpr const char* usage_text =
    R"(bench-report: render BENCHMARKS.md from scripts/bench's results

usage: bench-report --results FILE [--output FILE]

  --results FILE   JSON lines written by scripts/bench (see bench/report.cpp)
  --output FILE    write the whole report there (default: only print the tables)

Prints the result tables on stdout in any case. Exit status 0, or 2 on bad usage or an
unreadable results file.
)";

// ---------------------------------------------------------------------------------------
// The collected results, by label.
class results {
 public:
  explicit results(std::istream& in) {
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec || !v.is_object() || !v.as_object().contains("label")) {
        std::cerr << "bench-report: line " << n << " is not a labelled JSON object, skipped\n";
        continue;
      }
      auto& o = v.as_object();
      const std::string label(o.at("label").as_string());
      if (label == "command")
        commands_.push_back(o);
      else if (label == "perf")
        perf_.push_back(o);
      else
        by_label_[label] = o;
    }
  }

  // The value at `path` under `label` (nullptr when any part is missing).
  const json::value* find(const std::string& label,
                          std::initializer_list<std::string_view> path) const {
    const auto it = by_label_.find(label);
    if (it == by_label_.end()) return nullptr;
    const json::object* o = &it->second;
    const json::value* v = nullptr;
    for (const auto key : path) {
      if (o == nullptr) return nullptr;
      v = o->if_contains(key);
      if (v == nullptr) return nullptr;
      o = v->if_object();
    }
    return v;
  }
  std::optional<double> num(const std::string& label,
                            std::initializer_list<std::string_view> path) const {
    const auto* v = find(label, path);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return v->to_number<double>();
  }
  std::string str(const std::string& label, std::initializer_list<std::string_view> path) const {
    const auto* v = find(label, path);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  }
  bool has(const std::string& label) const { return by_label_.count(label) != 0; }

  const std::vector<json::object>& commands() const { return commands_; }
  const std::vector<json::object>& perf() const { return perf_; }

 private:
  std::map<std::string, json::object> by_label_;
  std::vector<json::object> commands_, perf_;
};

// ---------------------------------------------------------------------------------------
// Number formatting. A missing value prints as "n/a".
using opt = std::optional<double>;

std::string fixed(opt v, int decimals) {
  if (!v) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

// 1234567.8 -> "1,234,568".
std::string commas(opt v) {
  if (!v) return "n/a";
  const std::string digits = fixed(std::abs(std::round(*v)), 0);
  std::string out = *v <= -0.5 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

opt div(opt a, opt b) {
  if (!a || !b || *b == 0) return std::nullopt;
  return *a / *b;
}
opt add(opt a, opt b) {
  if (!a || !b) return std::nullopt;
  return *a + *b;
}
opt sub(opt a, opt b) {
  if (!a || !b) return std::nullopt;
  return *a - *b;
}
opt mul(opt a, double k) {
  return a ? opt(*a * k) : std::nullopt;
}

// "met" / "**MISSED**" for value >= bound (or <= with at_most); "n/a" without a value.
std::string verdict(opt value, double bound, bool at_most = false) {
  if (!value) return "n/a";
  return (at_most ? *value <= bound : *value >= bound) ? "met" : "**MISSED**";
}

std::string mb(opt kb) {
  return fixed(mul(kb, 1.0 / 1024), 0);
}

// ---------------------------------------------------------------------------------------
// The report.
class report {
 public:
  explicit report(const results& r) : r_(r) {}

  std::string results_table() const;
  std::string before_after_table() const;
  std::string formats_table() const;
  std::string parse_section() const;
  std::string floor_section() const;
  std::string profile_section() const;
  std::string postgres_section() const;
  std::string postgres_commands() const;
  std::string document() const;

 private:
  std::string run(const std::string& build, const std::string& step) const {
    return build + "/" + step;
  }
  opt res(const std::string& label, std::initializer_list<std::string_view> path) const {
    // The tool's own JSON sits under "result".
    const json::value* v = r_.find(label, {"result"});
    if (v == nullptr) return std::nullopt;
    for (const auto key : path) {
      const auto* o = v->if_object();
      if (o == nullptr || (v = o->if_contains(key)) == nullptr) return std::nullopt;
    }
    return v->is_number() ? opt(v->to_number<double>()) : std::nullopt;
  }
  std::string check(const std::string& label) const {
    const auto* v = r_.find(label, {"result", "check", "result"});
    if (v == nullptr || !v->is_string()) return r_.has(label) ? "counts not checked" : "not run";
    return v->as_string() == "ok" ? "counts exact" : "counts **WRONG**";
  }
  std::string cpu(const std::string& label) const {
    const opt srv = res(label, {"server", "cpu_us_per_event"});
    const opt gen = res(label, {"generator_cpu_us_per_event"});
    if (!srv && !gen) return "—";
    return fixed(srv, 1) + " / " + fixed(gen, 1);
  }
  // Seconds between two wall-clock times in ns.
  opt seconds(opt from_ns, opt to_ns) const { return mul(sub(to_ns, from_ns), 1e-9); }
  // Wall-clock seconds of the whole fill: from the start of its first window to the end of
  // its last.
  opt fill_seconds(const std::string& b) const {
    const opt end = res(run(b, "fill-end"), {"start_unix_ns"});
    const opt end_len = res(run(b, "fill-end"), {"elapsed_s"});
    return seconds(res(run(b, "fill-start"), {"start_unix_ns"}),
                   end && end_len ? opt(*end + *end_len * 1e9) : std::nullopt);
  }
  opt fill_events(const std::string& b) const {
    double sum = 0;
    for (const char* step : {"fill-start", "fill-middle", "fill-end"})
      sum += res(run(b, step), {"events"}).value_or(0);
    return sum;
  }
  opt stored(const std::string& b) const {
    return res(run(b, "fill-end"), {"check", "after", "unique_processed"});
  }
  opt restart_s(const std::string& b) const {
    return seconds(r_.num(run(b, "server-restart"), {"spawn_unix_ns"}),
                   res(run(b, "after-restart"), {"first_ok_unix_ns"}));
  }
  opt peak_kb(const std::string& b) const {
    const opt a = res(run(b, "fill-end"), {"server", "hwm_kb_after"});
    const opt c = res(run(b, "after-restart"), {"server", "hwm_kb_after"});
    if (!a || !c) return a ? a : c;
    return std::max(*a, *c);
  }
  opt seed_batch_ms(const std::string& b) const {
    return mul(res(run(b, "seed-batch"), {"elapsed_s"}), 1000);
  }

  const results& r_;
};

std::string report::results_table() const {
  const std::string b = "current";
  const opt duration = r_.num("env", {"duration_s"});
  const std::string dur = fixed(duration, 0);
  const opt sqlite_eps = res("sqlite", {"events_per_s"});
  const opt nginx_rps = res("nginx-single", {"requests_per_s"});
  const opt wrk_nginx_rps = res("wrk-nginx", {"requests_per_s"});
  const opt window = r_.num("env", {"window_stored"});
  const opt target = r_.num("env", {"store_target"});
  const std::string single = run(b, "single"), start = run(b, "fill-start"),
                    middle = run(b, "fill-middle"), end = run(b, "fill-end"),
                    restart = run(b, "after-restart");
  const opt single_ratio = div(res(single, {"requests_per_s"}), nginx_rps);
  // The first window's baseline: the ceiling measured just before and just after it, where
  // the run has them (the machine's speed drifts over minutes), else the one of step 1.
  const opt sqlite_near = mul(add(res(run(b, "sqlite-before"), {"events_per_s"}),
                                  res(run(b, "sqlite-after"), {"events_per_s"})),
                              0.5);
  const opt start_ratio = div(res(start, {"events_per_s"}), sqlite_near ? sqlite_near : sqlite_eps);
  const opt end_ratio = div(res(end, {"events_per_s"}), res(start, {"events_per_s"}));
  const auto lat = [&](const std::string& l, std::initializer_list<const char*> ps) {
    std::string out;
    for (const char* p : ps)
      out += std::string(out.empty() ? "" : ", ") + p + " " + fixed(res(l, {"latency_ms", p}), 2) +
             " ms";
    return out;
  };

  std::ostringstream t;
  t << "| Workload | Result | Target | Notes | CPU µs/event: server / generator "
       "|\n|---|---|---|---|---|\n";
  const auto row = [&](const std::string& w, const std::string& result, const std::string& tgt,
                       const std::string& notes, const std::string& cpu_col) {
    t << "| " << w << " | " << result << " | " << tgt << " | " << notes << " | " << cpu_col
      << " |\n";
  };
  row("Storage ceiling: bench-sqlite-append, " + commas(res("sqlite", {"events"})) + " rows, txn " +
          fixed(res("sqlite", {"txn"}), 0) + ", WAL, synchronous=NORMAL",
      commas(sqlite_eps) + " rows/s", "—", "baseline", "—");
  row("nginx static 200: agg-load single events, 64 conn, " + dur + " s",
      commas(nginx_rps) + " req/s, " + lat("nginx-single", {"p50", "p99"}), "—",
      "baseline (= generator ceiling, single)", cpu("nginx-single"));
  row("Generator ceiling, batched: agg-load → nginx, batch 1000, 4 conn",
      commas(res("nginx-batch", {"events_per_s"})) + " events/s", "—", "baseline",
      cpu("nginx-batch"));
  if (r_.has("wrk-nginx"))
    row("wrk → nginx, 1 thread, 64 conn, " + dur + " s (cross-check of agg-load)",
        commas(wrk_nginx_rps) + " req/s, " + lat("wrk-nginx", {"p50", "p99"}), "—", "baseline",
        "—");
  row("Seed: 5,000 single-event POSTs, 16 conn",
      fixed(mul(res(run(b, "seed-single"), {"elapsed_s"}), 1000), 1) + " ms, " +
          commas(res(run(b, "seed-single"), {"events_per_s"})) + " events/s, " +
          lat(run(b, "seed-single"), {"p99"}),
      "—", check(run(b, "seed-single")), cpu(run(b, "seed-single")));
  row("Seed: 5,000 events in batches of 500, 16 conn",
      fixed(seed_batch_ms(b), 1) + " ms, " + commas(res(run(b, "seed-batch"), {"events_per_s"})) +
          " events/s",
      "≤ 50 ms: " + verdict(seed_batch_ms(b), 50, true), check(run(b, "seed-batch")),
      cpu(run(b, "seed-batch")));
  row("Single-event POSTs, 64 keep-alive conn, " + dur + " s",
      commas(res(single, {"requests_per_s"})) + " events/s = " + fixed(single_ratio, 2) +
          " × nginx; " + lat(single, {"p50", "p90", "p99"}),
      "≥ 0.70 × nginx: " + verdict(single_ratio, 0.7) +
          "; p99 ≤ 5 ms: " + verdict(res(single, {"latency_ms", "p99"}), 5, true),
      check(single), cpu(single));
  if (r_.has(run(b, "single-scraped"))) {
    const std::string scraped = run(b, "single-scraped");
    row("Same, while Prometheus scrapes GET /metrics every 1 s (" +
            fixed(r_.num(run(b, "scrapes"), {"count"}), 0) + " scrapes in the whole run)",
        commas(res(scraped, {"requests_per_s"})) + " events/s = " +
            fixed(div(res(scraped, {"requests_per_s"}), res(single, {"requests_per_s"})), 3) +
            " × unscraped; " + lat(scraped, {"p50", "p90", "p99"}),
        "≥ 0.97 × unscraped: " +
            verdict(div(res(scraped, {"requests_per_s"}), res(single, {"requests_per_s"})), 0.97),
        check(scraped), cpu(scraped));
  }
  for (const auto& [step, conns] : {std::pair<std::string, std::string>{"wrk-single", "64"},
                                    std::pair<std::string, std::string>{"wrk-single-16", "16"}})
    if (r_.has(run(b, step)))
      row("wrk → aggregator: single-event POSTs (20% duplicates), 1 thread, " + conns + " conn, " +
              dur + " s",
          commas(res(run(b, step), {"requests_per_s"})) +
              " events/s = " + fixed(div(res(run(b, step), {"requests_per_s"}), wrk_nginx_rps), 2) +
              " × wrk → nginx (64 conn); " + lat(run(b, step), {"p50", "p90", "p99", "max"}),
          "p99 ≤ 5 ms: " + verdict(res(run(b, step), {"latency_ms", "p99"}), 5, true),
          "a generator we did not write; " + commas(res(run(b, step), {"non_2xx"})) + " non-200",
          "—");
  row("Batches of 1000, 4 conn: first " + commas(window) + " stored (on the " +
          commas(res(start, {"check", "before", "unique_processed"})) + " of the runs above)",
      commas(res(start, {"events_per_s"})) + " events/s = " + fixed(start_ratio, 2) + " × SQLite" +
          (sqlite_near ? " (" + commas(res(run(b, "sqlite-before"), {"events_per_s"})) + " / " +
                             commas(res(run(b, "sqlite-after"), {"events_per_s"})) +
                             " rows/s just before / after)"
                       : std::string()) +
          "; " + lat(start, {"p99"}),
      "≥ 0.60 × SQLite: " + verdict(start_ratio, 0.6), check(start), cpu(start));
  const opt middle_events = res(middle, {"events"});
  if (middle_events && *middle_events == 0)
    row("Batches of 1000, 4 conn: middle, up to " + commas(sub(target, window)) + " stored",
        "nothing to send: the runs above stored " +
            commas(res(middle, {"stats_before", "unique_processed"})),
        "—", "", "—");
  else
    row("Batches of 1000, 4 conn: middle, up to " + commas(sub(target, window)) + " stored",
        commas(res(middle, {"events_per_s"})) + " events/s; " + lat(middle, {"p99"}), "—",
        check(middle), cpu(middle));
  row("Batches of 1000, 4 conn: last " + commas(window) + " stored (up to " + commas(stored(b)) +
          ")",
      commas(res(end, {"events_per_s"})) + " events/s = " + fixed(end_ratio, 2) + " × start; " +
          lat(end, {"p99"}),
      "≥ 0.80 × start: " + verdict(end_ratio, 0.8), check(end), cpu(end));
  row("Whole fill: " + commas(fill_events(b)) + " events sent, " + commas(stored(b)) +
          " stored in the end",
      fixed(fill_seconds(b), 1) + " s, " + commas(div(fill_events(b), fill_seconds(b))) +
          " events/s",
      "—", "", "—");
  const auto exit_of = [&](const std::string& l) {
    const opt e = r_.num(l, {"exit"});
    return e ? fixed(e, 0) : std::string("?");
  };
  const opt stop_fill_s = seconds(r_.num(run(b, "server-fresh"), {"stop_begin_unix_ns"}),
                                  r_.num(run(b, "server-fresh"), {"stop_end_unix_ns"}));
  row("SIGTERM after the fill / after the restart",
      "exit " + exit_of(run(b, "server-fresh")) + " in " + fixed(stop_fill_s, 3) + " s / exit " +
          exit_of(run(b, "server-restart")),
      "exit 0", "", "—");
  const opt listen_s = seconds(r_.num(run(b, "server-restart"), {"spawn_unix_ns"}),
                               r_.num(run(b, "server-restart"), {"ready_unix_ns"}));
  row("Restart with " + commas(stored(b)) + " stored: process start → first publish answered",
      fixed(restart_s(b), 3) + " s (listening after " + fixed(listen_s, 3) + " s)",
      "≤ 3 s: " + verdict(restart_s(b), 3, true), check(restart) + " (5,000 more after restart)",
      cpu(restart));
  const opt rss_empty = res(run(b, "seed-single"), {"server", "rss_kb_before"});
  const opt rss_restarted = res(restart, {"server", "rss_kb_after"});
  row("Peak RSS (VmHWM): during the fill / restarted",
      mb(res(end, {"server", "hwm_kb_after"})) + " MB / " +
          mb(res(restart, {"server", "hwm_kb_after"})) + " MB",
      "≤ 512 MB: " + verdict(mul(peak_kb(b), 1.0 / 1024), 512, true), "", "—");
  row("Memory per stored event: (RSS restarted − RSS empty) / stored",
      commas(div(mul(sub(rss_restarted, rss_empty), 1024), stored(b))) + " bytes (RSS empty " +
          mb(rss_empty) + " MB, restarted " + mb(rss_restarted) + " MB)",
      "—", "", "—");
  const opt db = r_.num(run(b, "db"), {"bytes"});
  row("Database on disk (incl. WAL) per stored event",
      commas(div(db, stored(b))) + " bytes (" + commas(mul(db, 1e-6)) + " MB)", "—", "", "—");
  return t.str();
}

std::string report::before_after_table() const {
  if (!r_.has("baseline/single")) return {};
  const std::string before = r_.str("env", {"baseline"}), after = r_.str("env", {"commit"});
  std::ostringstream t;
  t << "| Workload | before: " << before << " | after: " << after
    << " | after / before |\n|---|---:|---:|---:|\n";
  const auto row = [&](const std::string& what, opt a, opt b, int decimals,
                       const std::string& unit) {
    t << "| " << what << " | " << (decimals ? fixed(a, decimals) : commas(a)) << unit << " | "
      << (decimals ? fixed(b, decimals) : commas(b)) << unit << " | " << fixed(div(b, a), 2)
      << " |\n";
  };
  const auto both = [&](const std::string& what, const std::string& step,
                        std::initializer_list<std::string_view> path, int decimals,
                        const std::string& unit) {
    row(what, res(run("baseline", step), path), res(run("current", step), path), decimals, unit);
  };
  both("Seed, single events: events/s", "seed-single", {"events_per_s"}, 0, "");
  row("Seed, batches of 500: ms (lower is better)", seed_batch_ms("baseline"),
      seed_batch_ms("current"), 1, "");
  both("Single-event POSTs, agg-load: events/s", "single", {"requests_per_s"}, 0, "");
  both("Single-event POSTs, agg-load: p50 ms", "single", {"latency_ms", "p50"}, 2, "");
  both("Single-event POSTs, agg-load: p99 ms", "single", {"latency_ms", "p99"}, 2, "");
  both("Single-event POSTs, agg-load: server CPU µs/event", "single",
       {"server", "cpu_us_per_event"}, 1, "");
  both("Single-event POSTs, wrk: events/s", "wrk-single", {"requests_per_s"}, 0, "");
  both("Single-event POSTs, wrk: p99 ms", "wrk-single", {"latency_ms", "p99"}, 2, "");
  both("Single-event POSTs, wrk: max ms", "wrk-single", {"latency_ms", "max"}, 2, "");
  both("Single-event POSTs, wrk, 16 conn: events/s", "wrk-single-16", {"requests_per_s"}, 0, "");
  both("Single-event POSTs, wrk, 16 conn: p99 ms", "wrk-single-16", {"latency_ms", "p99"}, 2, "");
  both("Batches of 1000, first window: events/s", "fill-start", {"events_per_s"}, 0, "");
  both("Batches of 1000, first window: server CPU µs/event", "fill-start",
       {"server", "cpu_us_per_event"}, 2, "");
  both("Batches of 1000, middle: events/s", "fill-middle", {"events_per_s"}, 0, "");
  both("Batches of 1000, last window: events/s", "fill-end", {"events_per_s"}, 0, "");
  row("Restart: process start → first publish answered, s", restart_s("baseline"),
      restart_s("current"), 3, "");
  row("Peak RSS, MB", mul(peak_kb("baseline"), 1.0 / 1024), mul(peak_kb("current"), 1.0 / 1024), 0,
      "");
  return t.str();
}

// bench-parse: the publish body readers in process (scripts/bench step 1b).
std::string report::parse_section() const {
  if (!r_.has("parse")) return {};
  std::ostringstream t;
  t << "## Reading publish bodies\n\n"
       "CPU time of one thread per event to turn bodies into validated events, in process "
       "(`bench-parse`, no HTTP, no store): `parse_publish`, the one-pass reader the service "
       "uses, against `parse_publish_reference`, the DOM reader it hands every body it does "
       "not take (errors, repeated keys) to. Bodies of agg-load's events; both readers' events "
       "are compared before timing.\n\n"
       "| Body | one pass, ns/event | DOM, ns/event | DOM / one pass |\n|---|---:|---:|---:|\n";
  for (const auto& [shape, what] :
       {std::pair<std::string_view, std::string>{"single", "one event"},
        {"array", "JSON array of " + commas(res("parse", {"batch"}))},
        {"ndjson", "NDJSON, " + commas(res("parse", {"batch"})) + " lines"}}) {
    t << "| " << what << " | " << fixed(res("parse", {"shapes", shape, "one_pass_ns_per_event"}), 0)
      << " | " << fixed(res("parse", {"shapes", shape, "dom_ns_per_event"}), 0) << " | "
      << fixed(res("parse", {"shapes", shape, "speedup"}), 2) << " |\n";
  }
  return t.str() + "\n";
}

// The single-event floor (scripts/bench step 3a): the service's shape over a store in memory,
// against nginx and against the real store, and the budget the 0.7 x nginx target leaves.
std::string report::floor_section() const {
  if (!r_.has("memory/single")) return {};
  const std::string mem = "memory/single", before = "memory/nginx-before",
                    after = "memory/nginx-after";
  // nginx's runs just before and after the memory store's: their mean is the baseline of the
  // same minutes (this machine's speed drifts over minutes).
  const auto mean = [&](std::initializer_list<std::string_view> path) {
    return mul(add(res(before, path), res(after, path)), 0.5);
  };
  const opt nginx_rps = mean({"requests_per_s"});
  // Within one run the server and agg-load share the cores at the same moments, so the
  // server's CPU per event as a multiple of agg-load's does not drift with the machine's speed.
  // On 2 saturated cores the target needs srv + gen <= (nginx's srv + gen) / 0.7; with
  // agg-load's own cost per request taken as the same against both servers (it is a little
  // higher against the aggregator, which only lowers the allowance), srv / gen may be at most
  // (nginx's srv / gen + 1) / 0.7 - 1.
  const auto ratio = [&](const std::string& label) {
    return div(res(label, {"server", "cpu_us_per_event"}),
               res(label, {"generator_cpu_us_per_event"}));
  };
  const auto allowance = [&](const std::string& nginx_label) {
    const opt r = ratio(nginx_label);
    return r ? opt((*r + 1) / 0.7 - 1) : std::nullopt;
  };
  const opt mem_ratio = ratio(mem);
  opt most;  // the largest allowance of the three nginx runs
  for (const char* l : {"nginx-single", "memory/nginx-before", "memory/nginx-after"})
    if (const opt a = allowance(l)) most = std::max(most.value_or(*a), *a);
  std::ostringstream t;
  t << "## The single-event floor\n\n"
       "What a single-event request costs the service's shape when storing costs almost "
       "nothing. `bench-memory-store` is this tree's HTTP threads, validation, bounded queue and "
       "consumer thread (group commits, answers) over a store that keeps only the keys, counters "
       "and topic counts in memory (`/stats` checked exactly as for the real store). Its cost per "
       "request is the shape's share before anything is written; the real store adds its own "
       "(and makes the group commits larger, which shares each wake-up among more "
       "requests). nginx is measured again just before and just after it; the × nginx column "
       "uses the mean of those two runs.\n\n"
       "| Single-event POSTs, 64 connections, agg-load | events/s | × nginx | CPU µs/event: "
       "server / generator | p99 |\n|---|---:|---:|---|---:|\n";
  const auto row = [&](const std::string& what, const std::string& label, opt base,
                       const std::string& note) {
    const opt eps = res(label, {"requests_per_s"});
    t << "| " << what << " | " << commas(eps) << " | " << fixed(div(eps, base), 2) << " | "
      << cpu(label) << note << " | " << fixed(res(label, {"latency_ms", "p99"}), 2) << " ms |\n";
  };
  row("nginx static 200, just before", before, nginx_rps, "");
  row("aggregator, store in memory", mem, nginx_rps, ", " + check(mem));
  row("nginx static 200, just after", after, nginx_rps, "");
  row("aggregator, SQLite on disk (Results; against nginx of step 2)", "current/single",
      res("nginx-single", {"requests_per_s"}), ", " + check("current/single"));
  if (r_.has("memory/wrk-single"))
    t << "\nWith wrk (1 thread, 64 connections), against wrk → nginx of step 2: store in memory "
      << commas(res("memory/wrk-single", {"requests_per_s"})) << " requests/s = "
      << fixed(div(res("memory/wrk-single", {"requests_per_s"}),
                   res("wrk-nginx", {"requests_per_s"})),
               2)
      << " ×, p99 " << fixed(res("memory/wrk-single", {"latency_ms", "p99"}), 2) << " ms; SQLite "
      << fixed(div(res("current/wrk-single", {"requests_per_s"}),
                   res("wrk-nginx", {"requests_per_s"})),
               2)
      << " ×.\n";
  t << "\n**Budget.** On these 2 cores, 0.70 × nginx's rate leaves the server (nginx's CPU per "
       "request + its generator's) / 0.7 − the generator's own. The speed of this machine "
       "drifts by tens of percent within a minute (compare the generator's CPU in the nginx "
       "runs), so the budget is counted in agg-load's CPU per request of the same run: server / "
       "generator may be at most (nginx's server / generator + 1) / 0.7 − 1 = "
    << fixed(allowance(before), 2) << " (nginx just before), " << fixed(allowance(after), 2)
    << " (just after), " << fixed(allowance("nginx-single"), 2)
    << " (step 2). The store in memory uses " << fixed(mem_ratio, 2) << " (" << cpu(mem)
    << " µs), SQLite " << fixed(ratio("current/single"), 2) << ": "
    << (mem_ratio && most ? (*mem_ratio > *most ? "the floor is above every allowance before "
                                                  "anything is stored, so reaching the target in "
                                                  "this shape on this machine takes fewer "
                                                  "hand-offs or a cheaper HTTP side, not only a "
                                                  "faster store"
                                                : "the floor is under at least one allowance, so "
                                                  "a faster store could still meet the target")
                          : std::string("n/a"))
    << ".\n";
  if (r_.has("handoff"))
    t << "\n**Hand-offs.** Each request crosses threads twice: to the consumer thread and, with "
         "its answer, back to its I/O thread. Waking a sleeping thread costs this machine "
      << fixed(res("handoff", {"any_cpu", "cpu_us_per_handoff"}), 1)
      << " µs of CPU when the two threads run on different CPUs and "
      << fixed(res("handoff", {"one_cpu", "cpu_us_per_handoff"}), 1)
      << " µs on one CPU (`bench-handoff`: two threads passing a token through a condition "
         "variable, "
      << commas(res("handoff", {"handoffs"}))
      << " hand-offs per measurement). A group commit shares these wake-ups among the requests it "
         "holds.\n";
  return t.str() + "\n";
}

// The same events as a JSON array, as NDJSON and as gzip + NDJSON (scripts/bench step
// "formats"): rate, bytes on the wire per event, and the issue's targets.
std::string report::formats_table() const {
  if (!r_.has("formats/json")) return {};
  const opt json_eps = res("formats/json", {"events_per_s"});
  const opt json_bytes = res("formats/json", {"wire_bytes_per_event"});
  std::ostringstream t;
  t << "| Body (batches of " << commas(res("formats/json", {"batch"}))
    << ") | events/s | wire bytes per event | rate vs JSON | bytes vs JSON | server CPU µs/event "
       "| counts |\n|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& [step, what] :
       {std::pair<std::string, std::string>{"formats/json", "JSON array"},
        {"formats/ndjson", "NDJSON"},
        {"formats/gzip-ndjson", "gzip + NDJSON"}}) {
    const opt eps = res(step, {"events_per_s"});
    const opt bytes = res(step, {"wire_bytes_per_event"});
    t << "| " << what << " | " << commas(eps) << " | " << fixed(bytes, 1) << " | "
      << fixed(div(eps, json_eps), 2) << " | " << fixed(div(bytes, json_bytes), 3) << " | "
      << fixed(res(step, {"server", "cpu_us_per_event"}), 2) << " | " << check(step) << " |\n";
  }
  const opt nd_eps = res("formats/ndjson", {"events_per_s"});
  const opt gz_eps = res("formats/gzip-ndjson", {"events_per_s"});
  const opt gz_bytes = res("formats/gzip-ndjson", {"wire_bytes_per_event"});
  t << "\nTargets: NDJSON at least the JSON array rate: " << fixed(div(nd_eps, json_eps), 2)
    << "x, " << verdict(div(nd_eps, json_eps), 1.0)
    << "; gzip cuts the wire bytes at least 4x: " << fixed(div(json_bytes, gz_bytes), 1) << "x, "
    << verdict(div(json_bytes, gz_bytes), 4.0)
    << "; at 0.7x the uncompressed (NDJSON) rate or better: " << fixed(div(gz_eps, nd_eps), 2)
    << "x, " << verdict(div(gz_eps, nd_eps), 0.7) << ".\n";
  return t.str();
}

// One recorded profile: the self view and the callee view from the `perf report -t '|'`
// outputs the script saved.
std::string profile_tables(const json::object& p) {
  std::ostringstream o;
  const auto samples = p.contains("samples") && p.at("samples").is_number()
                           ? p.at("samples").to_number<double>()
                           : 0;
  const auto text = [&](const char* k) {
    return p.contains(k) ? std::string(p.at(k).as_string()) : std::string();
  };
  if (samples == 0) {
    o << "perf recorded no samples of the server during this run (" << text("log") << ").\n";
    return o.str();
  }
  o << commas(samples) << " samples of the server process (all its threads): `" << text("command")
    << "`"
    << (p.contains("cut") && p.at("cut").as_bool() ? ", ended (SIGTERM) when agg-load finished"
                                                   : "")
    << ".\n\n";
  // Rows of `perf report -t '|'`: "share|symbol" (self view) or "children|self|symbol".
  const auto rows = [&](const std::string& file, std::size_t fields) {
    std::vector<std::vector<std::string>> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#' || line.find('%') == std::string::npos) continue;
      // Fields are separated by '|' (perf adds empty columns after the symbol).
      std::vector<std::string> f;
      std::istringstream cells(line);
      for (std::string cell; f.size() < fields && std::getline(cells, cell, '|');)
        f.push_back(cell);
      if (f.size() != fields) continue;
      for (auto& s : f) {
        s.erase(0, s.find_first_not_of(" \t"));
        s.erase(s.find_last_not_of(" \t") + 1);
      }
      out.push_back(std::move(f));
    }
    return out;
  };
  const auto md_sym = [](std::string s) {
    if (s.size() > 90) s = s.substr(0, 89) + "…";
    std::string out = "`";
    for (const char c : s)
      out += c == '`' ? std::string("'") : c == '|' ? std::string("\\|") : std::string(1, c);
    return out + "`";
  };
  o << "Self time (`perf report --no-children --sort symbol -g none --percent-limit 1`, top "
       "15):\n\n"
    << "| Share | Symbol |\n|---:|---|\n";
  std::size_t n = 0;
  for (const auto& f : rows(text("self"), 2))
    if (n++ < 15) o << "| " << f[0] << " | " << md_sym(f[1]) << " |\n";
  // The project's own functions, sqlite3_step, the Boost.JSON parser, the kernel's TCP
  // send and receive, SQLite's file writes and syncs.
  static const std::regex own(
      R"(^\[\.\] (agg::|sqlite3_step$|boost::json::|(__libc_)?(pwrite|pwrite64|write|fdatasync|fsync)$)|^\[k\] (tcp_sendmsg|tcp_recvmsg)$)");
  o << "\nIncluding callees (`perf report --children --sort symbol -g none`, the project's\n"
       "functions, `sqlite3_step`, Boost.JSON, the kernel's `tcp_sendmsg`/`tcp_recvmsg`\n"
       "and SQLite's file writes and syncs, top 15):\n\n"
    << "| With callees | Self | Symbol |\n|---:|---:|---|\n";
  n = 0;
  for (const auto& f : rows(text("children"), 3))
    if (std::regex_search(f[2], own) && n++ < 15)
      o << "| " << f[0] << " | " << f[1] << " | " << md_sym(f[2]) << " |\n";
  if (n == 0) o << "| — | — | none of these symbols in the samples |\n";
  return o.str();
}

constexpr const char* where_the_time_goes =
    R"(The single-event path pays, for every request, one HTTP read and parse on an I/O
thread, a hand-off of the parsed request to the consumer's write strand, a small
SQLite transaction whose commit is shared by the requests that arrived meanwhile
(group commit), and a hand-off of the answer back to the session, which writes the
response. Per event that is mostly system calls, wake-ups and the fixed cost of a
commit, not parsing. The batched path amortises all of that over 1000 events: it is
bounded by the one writer strand doing the SQLite inserts (and the dedup lookups)
while the HTTP threads parse the JSON bodies on the same 2 cores, which the load
generator shares too.

The profiles are recorded during the measured runs above (perf's cost, ~1000
samples/s per busy CPU, is inside those numbers; `scripts/bench --no-profile` skips
it). The event is the software `cpu-clock` where hardware counters are not
available: in a virtual machine its samples that arrive while interrupts are
disabled are counted at the point where they are enabled again, so kernel entries
such as `finish_task_switch` or `_raw_spin_unlock_irqrestore` stand for scheduling
and wake-up work in general. The Release build has no frame pointers, so call
chains through user code are often cut short: the "with callees" shares of the
project's functions are lower bounds, the self shares are exact; inlined functions
count as their caller.

### The two ratio targets, and what would close them

Both are budgets of CPU on 2 cores shared by the server and the load generator. This
analysis was written from the full run of 4d655f9 (2026-12-02 14:46 UTC, before/after
against 886bd98 in the same run; the single-event part revised from the later runs it names), plus interleaved runs of the two binaries on a fresh
database on disk (agg-load, batches of 1000, 4 connections, 20% duplicates), `perf record`
and `strace -T` of the server, and `wrk --latency`; the CPU µs per event are the comparable
figures. The server's threads are named (`agg-writer`, `agg-checkpoint`; the HTTP threads,
readers and logger keep `aggregator`), so `perf report --sort comm` splits the server's CPU.

- **Batched ≥ 0.6 × raw SQLite: met in that run (0.73 ×), but read the ceiling too.** The
  ceiling measured 236k rows/s there; an hour earlier, on the same machine, 297-350k. This
  machine's speed drifts over minutes, which is also why that run's "Before and after" rows
  for batches (0.80-0.92 ×) disagree with interleaved runs: two pairs of 2,000,000 events,
  886bd98 then 4d655f9, gave 147k / 142k against 257k / 198k events/s, and the writer
  thread's CPU 12.3 / 13.0 s against 6.7 / 8.8 s. What changed: (1) the index on
  `events(topic, seq)`, one more B-tree insert per event, is replaced by `topic_blocks`,
  one row per topic and commit (3 interleaved pairs of 500,000: 157-180k → 186-204k
  events/s, server CPU 7.8-8.4 → 6.8-7.2 µs/event); (2) a 16 MiB page cache instead of
  64 (filling the larger cache cost a malloc and page faults per page; writer CPU median
  2050 → 1930 ms over five pairs of 500,000, RSS 106 → 55 MB); (3) dedup slots prefetched.
  Tried and dropped: a 32-row INSERT statement (no difference above the noise). The writer
  thread is still the bound: `perf` of a batched run splits the server 63% writer (SQLite
  23%, kernel 22%, mostly the WAL's `pwrite`s, libc 10%, our code 8%), 24% HTTP threads,
  12% checkpointer, at ~3.5-4.5 µs of writer CPU per event. Next step: fewer, larger WAL
  writes (the writer makes two `pwrite`s per 4 KiB page), and the checkpointer's copy.
- **p99 ≤ 5 ms (wrk, database on disk): met since 02ca7a9, at 16 and 64 connections.** Two
  causes, found in turn. (1) The checkpoints' fsyncs: `perf sched` of wrk at 16 connections
  (91b5694) showed the checkpointer 7.1 ms on one CPU inside `fdatasync` (24% of its samples
  in `iowrite16`, the virtio doorbell, which traps to the hypervisor) while wrk waited
  runnable on that CPU and the other sat idle; passes ran back to back once the WAL held
  32 MiB (4,504 `fdatasync`s in 7 s). Since e658bb7 a pass starts every 512 KiB written and
  the writer waits for one pass every 128 MiB, where SQLite starts the WAL file again (917
  `fdatasync`s in 7 s); interleaved wrk runs moved p99 at 64 connections from 4.9-5.9 ms to
  4.1-4.7 ms, and batches of 1000 paid ~5% (284k / 286k against 300k / 299k events/s).
  Tried and dropped: the checkpointer at nice 10 or 19 (no change: the kernel section is not
  preempted), its connection at `synchronous=OFF` (p99 43-53 ms: the restart's header fsync
  then writes the whole unsynced WAL inside a commit), no restarts (the WAL grows to its
  bound), restarts every 32 MiB (p99 8-10 ms), early writeback with `sync_file_range`, 1 and
  2 KiB pages. (2) The dedup index's growth, which was the 16-connection tail that three
  `scripts/bench --quick` runs still showed (11.9-15.4 ms, max ~100 ms) and runs by hand
  mostly did not. Read wrk's p99 knowing how wrk computes it: at the end of a run it corrects
  for coordinated omission (`stats_correct` in wrk.c): every latency longer than a
  connection's mean interval between requests (connections × run time / requests, 0.5 ms at
  16 connections and 30k requests/s) adds the samples of the requests that connection would
  have sent meanwhile. One pause of T ms thus adds about T × (requests per ms) samples spread
  from 0 to T: one 99 ms pause at 30k requests/s adds ~3,000 of a 10 s run's 300k, the whole
  1%. In the bench's order by hand (seeds, agg-load 10 s, wrk 64, then wrk 16 on one
  database; 2026-12-03 11:10-11:25 UTC), wrk at 16 connections reported p99 10.3-14.3 ms
  while a `tcpdump` of the same run (269,229 requests) had request-to-answer p99 0.83 ms,
  p99.9 3.57 ms, max 97 ms, the server's histogram had 99.95% under 2.5 ms, and agg-load at
  16 connections right after had p99 1.27 ms. Commits over 5 ms, traced inside the server
  (a throw-away build), had their time in `write_group`, not in the checkpointer's wait nor
  in the commit: 6.7, 15.4, 25.7 and 50.5 ms at 45,893, 91,786, 183,501 and 367,008 stored
  keys, exactly where the dedup index passed 70% of 64k, 128k, 256k and 512k slots and grew
  in one insert, and 99 ms at 734k in another run (a new 32 MiB table, every key stored
  again). Since 02ca7a9 the index grows 8 slots per insert (README
  "The dedup index"). The same order by hand, de0e69b then 02ca7a9, two rounds: wrk 64 max
  54 / 64 → 8.1 / 6.9 ms, wrk 16 p99 3.0 / 1.4 → 1.6 / 1.8 ms (in these rounds the pause fell
  in the 64-connection run); traced, no `write_group` after the seeds took over 6.2 ms. In
  the bench run above, against de0e69b: wrk 16 p99 10.30 → 2.57 ms, wrk 64 max 52.95 →
  14.28 ms, agg-load p99 5.02 → 4.42 ms. What remains on the commit path: the writer's wait
  before each WAL restart, 1.5-15 ms (a pass and its fsyncs) once per 128 MiB written,
  every ~1.8 s at 16 connections.
- **Single events ≥ 0.7 × nginx: out of reach for this shape on this machine, and the
  section "The single-event floor" shows why in every run.** The target leaves the server
  (nginx's CPU per request + its generator's) / 0.7 − agg-load's own CPU per request: 19-22
  µs on a steady machine. `bench-memory-store`, the same HTTP threads, queue and consumer
  thread over a store that keeps only keys and counters in memory, already costs more: in
  four runs (2026-12-03 18:06-19:00 UTC) its server / generator CPU was 1.79-2.07 where the
  target allows 1.41-1.75 (the section above explains the units; it has this run's figures).
  Split by thread (agg-load, 64 connections, `/proc/<pid>/task/*/stat`, runs by hand
  17:50-18:20 UTC, µs per request): the HTTP threads 21.5-27.2, typically ~23, with either
  store; the consumer thread 5.6-6.1 with the memory store and 11.5-14.1 with SQLite; SQLite's
  checkpointer 2.7-3.7. So the SQLite store adds ~10 µs, and the HTTP threads alone use more
  than the whole budget.
  - **The HTTP side.** A publish rejected with 422 (read, parsed, validated, answered,
    nothing queued) costs 16.9-17.4 µs in three runs of four, 21.3 in one (wrk, 64
    connections; nginx's static 200 12.8-14.1 in the same minutes): with every cross-thread
    cost removed, most of the budget is gone. 760dec6 brought it there from 27-30 µs, by
    giving each HTTP thread an event loop of its own (README "I/O threads"). In a profile of
    the HTTP threads over the memory store, the kernel (loopback TCP, `epoll`, scheduling)
    has 43% of their samples, malloc/free 9%.
  - **The hand-offs.** An accepted request crosses threads twice, to the consumer thread and
    back with its answer, and a thread that sleeps must be woken: on this virtual machine
    that costs 10.7-12.4 µs of CPU across CPUs and 4.9-6.7 on one (`bench-handoff`, four
    runs). `perf stat -p` per request (wrk, 64 connections, 8 s, two runs each): rejected
    2.8-3.9 system calls and 0.09-0.16 context switches; accepted over the memory store
    3.9-4.2 and 0.40-0.52 (of them `futex` 0.25-0.42 and `epoll_ctl` 0.14-0.17: the
    wake-ups); over SQLite 5.4-5.7 and 0.38-0.46, with `pwrite` 0.9-1.0 and `fcntl` 0.5-0.6
    (SQLite's WAL frames and locks). A group commit shares its wake-ups among its requests:
    ~4 per commit over the memory store, ~11 over SQLite.
  - **Tried, not landed:** waking the consumer once at the end of each I/O thread's round
    of ready sockets instead of at the first request. Over the memory store the floor fell
    ~10% (server / generator CPU 1.93-2.03 → 1.76-1.79; commits of 3.8-3.9 → 6.1-6.5
    events); over SQLite it moved 1% (2.39 → 2.36, four alternating pairs), within the
    noise: under load the writer is already busy committing while requests gather. Even
    with it, the floor (~1.65 × the generator's CPU) plus what raw SQLite alone spends per
    row at this commit size (3.5-3.7 µs of CPU, `bench-sqlite-append --events 200000 --txn
    14`, ~0.25 × the generator's) is ~1.9, above every allowance measured so far.
  - **What would close it:** fewer hand-offs than the shape has. For example, the HTTP
    thread that submits a request commits the group itself when the consumer is idle (flat
    combining), with no wake-up, and answers its own requests without a post. That replaces
    the consumer's own thread, a shape the project's owner fixed, so it is theirs to decide.
    Then the HTTP side's allocations (the `publish_job`, its `std::function`, the
    `any_io_executor` copy, the answer string).
)";

std::string report::profile_section() const {
  std::ostringstream o;
  o << "## Where the time goes\n\n" << where_the_time_goes << "\n";
  if (const auto note = r_.str("perf-note", {"note"}); !note.empty()) {
    o << note << "\n";
    return o.str();
  }
  const auto window = commas(r_.num("env", {"window_stored"}));
  for (const auto& p : r_.perf()) {
    const std::string step(p.at("step").as_string());
    if (step.starts_with("pg")) continue;  // in the PostgreSQL section
    if (step == "single")
      o << "### Single-event path: single-event POSTs, 64 connections\n\n";
    else
      o << "### Batched path: batches of 1000, 4 connections, first " << window << " stored\n\n";
    o << profile_tables(p) << "\n";
  }
  return o.str();
}

// Several nodes on PostgreSQL (issue 12): scripts/bench's measure_postgres.
std::string report::postgres_section() const {
  if (!r_.has("pg/bare")) return {};
  const opt bare = res("pg/bare", {"events_per_s"});
  const auto row = [&](const std::string& name, const std::string& label, bool batch) {
    const opt eps = res(label, {"events_per_s"});
    const opt p99 = res(label, {"latency_ms", "p99"});
    const std::string lat =
        p99 ? fixed(res(label, {"latency_ms", "p50"}), 2) + " / " + fixed(p99, 2) + " ms" : "—";
    return "| " + name + " | " + commas(eps) + " | " + lat + " | " +
           (batch ? fixed(div(eps, bare), 2) : "—") + " | " +
           fixed(res(label, {"server", "cpu_us_per_event"}), 1) + " | " +
           fixed(res(label, {"generator_cpu_us_per_event"}), 1) + " | " + check(label) + " |\n";
  };
  std::ostringstream o;
  o << "## Several nodes on PostgreSQL\n\n"
    << "A throw-away PostgreSQL 15 on this machine (default settings, `fsync` on, TCP on "
       "127.0.0.1), a fresh database per row group. The bare loader (`bench-pg-append`) inserts "
       "new rows into a table shaped like `agg_events` the way the store does (counter-row lock, "
       "one `INSERT ... SELECT FROM unnest` per 1,000 rows, synchronous commit): the engine's "
       "ceiling for this schema. The service rows run 1, 2 and 3 nodes on one database behind "
       "haproxy (round robin, `GET /health` checks), one agg-load against the balancer per "
       "workload (20% duplicates; `--check-stats` through the balancer, since `/stats` on any "
       "node is service-wide). Server CPU is summed over the nodes (haproxy's is not counted). "
       "PostgreSQL, haproxy, the nodes and agg-load all share the same cores.\n\n"
    << "| Workload | events/s | latency p50 / p99 | × bare libpq | nodes' CPU µs/event | "
       "agg-load CPU µs/event | counts |\n"
    << "|---|---|---|---|---|---|---|\n"
    << "| bare libpq, transactions of 1000, 1 connection | " << commas(bare)
    << " | — | 1.00 | — | — | — |\n";
  for (int n = 1; n <= 3; ++n) {
    const std::string nodes = std::to_string(n) + (n == 1 ? " node" : " nodes");
    const std::string base = "pg/" + std::to_string(n) + "-nodes-";
    if (r_.has(base + "batch"))
      o << row(nodes + " + haproxy, batches of 1000, 6 connections", base + "batch", true);
    if (r_.has(base + "single"))
      o << row(nodes + " + haproxy, single events, 64 connections", base + "single", false);
  }
  const opt one = res("pg/1-nodes-batch", {"events_per_s"});
  const opt best = [&]() -> opt {
    opt m = one;
    for (const char* l : {"pg/2-nodes-batch", "pg/3-nodes-batch"})
      if (const opt e = res(l, {"events_per_s"}); e && (!m || *e > *m)) m = e;
    return m;
  }();
  const auto vs_one = [&](const char* label) {
    return fixed(div(res(label, {"events_per_s"}), one), 2) + "×";
  };
  o << "\nTargets: the service (best node count, batches) at ≥ 0.5× the bare loader: "
    << fixed(div(best, bare), 2) << "×, " << verdict(div(best, bare), 0.5)
    << "; 2 and 3 nodes not slower than 1 (batches): " << vs_one("pg/2-nodes-batch") << " and "
    << vs_one("pg/3-nodes-batch") << " of 1 node, "
    << verdict(div(std::min(res("pg/2-nodes-batch", {"events_per_s"}).value_or(0),
                            res("pg/3-nodes-batch", {"events_per_s"}).value_or(0)),
                   one),
               1.0)
    << " (on a shared machine a few percent is noise; this table runs 1, 2 and 3 nodes one "
       "after the other, so compare node counts with the interleaved runs kept by hand in "
       "[Several nodes on PostgreSQL: interleaved "
       "runs](#several-nodes-on-postgresql-interleaved-runs)).\n\n";
  for (const auto& p : r_.perf())
    if (p.at("step").as_string() == "pg-batch")
      o << "### Profile: 1 node, batches of 1000 through haproxy\n\n" << profile_tables(p) << "\n";
  return o.str();
}

// The commands of the PostgreSQL step, as run (printed by itself with the section).
std::string report::postgres_commands() const {
  std::ostringstream o;
  for (const auto& c : r_.commands()) {
    const std::string_view step(c.at("step").as_string());
    if (step.starts_with("pg") || step.starts_with("aggregator: pg/") || step == "postgres")
      o << "# " << step << "\n" << c.at("cmd").as_string().c_str() << "\n";
  }
  return o.str();
}

std::string report::document() const {
  const auto env = [&](std::string_view k) { return r_.str("env", {k}); };
  const bool quick = env("mode") == "quick";
  std::ostringstream d;
  d << "# Benchmarks\n\nWritten by `scripts/bench" << (quick ? " --quick" : "")
    << "` — rerun it rather than editing this file.\n\n"
    << "| | |\n|---|---|\n"
    << "| Date | " << env("date") << " |\n"
    << "| Commit | " << env("commit") << " |\n";
  if (!env("baseline").empty())
    d << "| Baseline (\"before\") | " << env("baseline")
      << ", built from a clone in the same run |\n";
  d << "| CPU | " << env("cpu") << ", " << fixed(r_.num("env", {"cores"}), 0)
    << " cores (as `nproc` counts them) |\n"
    << "| Memory | " << fixed(mul(r_.num("env", {"mem_kb"}), 1.0 / 1048576), 0) << " GiB |\n"
    << "| System | " << env("system") << ", " << env("compiler") << " |\n"
    << "| Mode | " << env("mode") << ": " << commas(r_.num("env", {"store_target"}))
    << " stored |\n"
    << "| Server flags | defaults of CONTRACT.md"
    << (env("server_flags").empty() ? "" : ", plus `" + env("server_flags") + "`") << " |\n"
    << "| Load average (1, 5, 15 min) | " << env("loadavg_start") << " at the start, "
    << r_.str("env-end", {"loadavg"}) << " at the end |\n\n";
  d << R"(All runs send 20% duplicates (same key, same content), ~200-byte payloads over
8 topics, and every agg-load run against the aggregator checks the `/stats` deltas
exactly (`agg-load --check-stats`). "events/s" counts every event acknowledged,
duplicates included; stored events are 80% of them. The load generator, the server
and nginx share the same cores, so every number here includes the generator's own
CPU use; on a shared machine other jobs (e.g. compiles) disturb the numbers too: a
load average above 0 at the start says other work was running. The last column, CPU
time per event of the server process (nginx: master and workers) and of agg-load,
from /proc/<pid>/stat and getrusage, is the number least disturbed by other work.
Latencies are those agg-load (or wrk, with `--latency`) measured per request.

## Results

)" << results_table()
    << "\n";
  if (const auto ba = before_after_table(); !ba.empty()) {
    d << "## Before and after\n\nThe same service workloads against the Release binary of "
      << env("baseline")
      << " (\"before\") and of this commit (\"after\"), one after the other in this run, with the "
         "same agg-load and "
         "wrk. Ratios above 1 are better for rates, below 1 for times, latencies, CPU and "
         "memory.\n\n"
      << ba << "\n";
  }
  if (const auto f = formats_table(); !f.empty())
    d << "## Publish formats\n\nThe same " << commas(res("formats/json", {"events"}))
      << " events (one seed, 20% duplicates) sent three times, each time to a fresh server: as "
         "JSON arrays, as NDJSON, and as NDJSON compressed with gzip (agg-load `--gzip`, level "
      << fixed(res("formats/gzip-ndjson", {"gzip_level"}), 0)
      << ", each body compressed by the generator while the previous request is in flight). "
         "Wire bytes count the HTTP heads and the bodies as "
         "sent. The payload filler is a run of `x`, so gzip does better here than on real "
         "payloads.\n\n"
      << f << "\n";
  d << parse_section() << floor_section() << postgres_section() << profile_section()
    << "\n## Commands\n\nExactly as run (`$TMP` is the script's temporary folder):\n\n```\n";
  for (const auto& c : r_.commands())
    d << "# " << c.at("step").as_string().c_str() << "\n"
      << c.at("cmd").as_string().c_str() << "\n";
  d << "```\n\n## Reproduce\n\n```\n"
    << "scripts/bench                           # full: 5,000,000 stored events (takes minutes)\n"
    << "scripts/bench --quick                   # 500,000 stored events\n"
    << "BENCH_BASELINE=<git ref> scripts/bench  # also measure that commit, \"before\" and "
       "\"after\"\n"
    << "scripts/stress --spawn                  # a quick check against a throw-away server\n"
    << "```\n";
  return d.str();
}

// The sections other scripts write into the same file (bench-subscribe, bench-tls, bench-amqp,
// bench-auth), each between its "<!-- name:begin" and "<!-- name:end -->" markers: kept as
// they are, after this report, so rewriting the report does not lose their measurements.
std::string kept_sections(const std::string& path) {
  std::ifstream in(path);
  const std::string old{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::string kept;
  for (std::size_t at = old.find("<!-- "); at != std::string::npos; at = old.find("<!-- ", at)) {
    const std::size_t name_end = old.find(":begin", at);
    const std::size_t line_end = old.find('\n', at);
    if (name_end == std::string::npos || name_end > line_end) {
      at += 5;
      continue;
    }
    const std::string end_marker = "<!-- " + old.substr(at + 5, name_end - at - 5) + ":end -->";
    const std::size_t end = old.find(end_marker, name_end);
    if (end == std::string::npos) break;
    kept += "\n" + old.substr(at, end + end_marker.size() - at) + "\n";
    at = end + end_marker.size();
  }
  return kept;
}

}  // namespace

int main(int argc, char** argv) {
  std::string results_path, output_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text;
      return 0;
    }
    if ((arg == "--results" || arg == "--output") && i + 1 < argc) {
      (arg == "--results" ? results_path : output_path) = argv[++i];
      continue;
    }
    std::cerr << "bench-report: bad argument '" << arg << "'\n" << usage_text;
    return 2;
  }
  if (results_path.empty()) {
    std::cerr << "bench-report: --results is required\n" << usage_text;
    return 2;
  }
  std::ifstream in(results_path);
  if (!in) {
    std::cerr << "bench-report: cannot read " << results_path << "\n";
    return 2;
  }
  const results r(in);
  const report rep(r);
  if (r.has("current/single")) std::cout << rep.results_table();
  if (const auto f = rep.floor_section(); !f.empty()) std::cout << "\n" << f;
  if (const auto f = rep.formats_table(); !f.empty()) std::cout << "\n" << f;
  if (const auto ba = rep.before_after_table(); !ba.empty()) std::cout << "\n" << ba;
  if (const auto pg = rep.postgres_section(); !pg.empty())
    std::cout << "\n" << pg << "Commands:\n\n```\n" << rep.postgres_commands() << "```\n";
  if (!output_path.empty()) {
    const std::string tmp = output_path + ".tmp";
    std::ofstream out(tmp);
    out << rep.document() << kept_sections(output_path);
    out.close();
    if (!out || std::rename(tmp.c_str(), output_path.c_str()) != 0) {
      std::cerr << "bench-report: cannot write " << output_path << "\n";
      return 2;
    }
    std::cerr << "bench-report: wrote " << output_path << "\n";
  }
  return 0;
}
