// bench-parse: CPU cost of reading /publish bodies, in-process, one thread: api::parse_publish
// (the one-pass reader the service uses) against api::parse_publish_reference (the DOM reader
// it hands the rest to), on the bodies agg-load sends (same topics, keys and payloads). The
// two readers' events are compared before timing; a difference fails the run.

#include "api/body_format.hpp"
#include "api/publish_parser.hpp"
#include "cli.hpp"
#include "event_gen.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Options. Each says its effect and default; --help prints the same text.
struct options {
  std::size_t batch = 1000;         // --batch: events per body. Default 1000.
  std::size_t bodies = 200;         // --bodies: distinct bodies, read in turn. Default 200.
  double seconds = 2.0;             // --seconds: time per reader and shape. Default 2.
  std::size_t payload_bytes = 200;  // --payload-bytes: size of each payload. Default 200.
};

constexpr const char* usage_text =
    R"(bench-parse: CPU time per event of reading /publish bodies (one thread, in process)

usage: bench-parse [options]

  --batch N          events per JSON array body (default 1000); single-event bodies and
                     NDJSON bodies of the same events are measured too
  --bodies N         distinct bodies, read in turn (default 200)
  --seconds S        time per reader and body shape (default 2)
  --payload-bytes S  size of each event's payload JSON (default 200)
  --help             this text

Prints one line per shape on stderr and the result as one JSON object on stdout:
{"batch", "shapes": {"single"|"array"|"ndjson": {"one_pass_ns_per_event", "dom_ns_per_event",
"speedup"}}}.
)";

constexpr std::string_view tool = "bench-parse";

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) agg_bench::usage_error(tool, "missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text;
      std::exit(0);
    } else if (arg == "--batch") {
      o.batch = agg_bench::parse_number<std::size_t>(tool, arg, next());
    } else if (arg == "--bodies") {
      o.bodies = agg_bench::parse_number<std::size_t>(tool, arg, next());
    } else if (arg == "--seconds") {
      o.seconds = agg_bench::parse_number<double>(tool, arg, next());
    } else if (arg == "--payload-bytes") {
      o.payload_bytes = agg_bench::parse_number<std::size_t>(tool, arg, next());
    } else {
      agg_bench::usage_error(tool, "unknown option " + arg);
    }
  }
  if (o.batch < 1 || o.bodies < 1 || o.seconds <= 0)
    agg_bench::usage_error(tool, "--batch, --bodies and --seconds must be > 0");
  return o;
}

struct shape {
  const char* name;
  agg::api::body_format format;
  std::vector<std::string> bodies;
  std::size_t events_per_body;
};

using reader = agg::api::parse_result (*)(std::string_view, const agg::api::body_format&,
                                          std::size_t);

// Nanoseconds of one thread per event, reading the shape's bodies in turn for `seconds`.
double ns_per_event(const shape& s, reader read, double seconds) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::size_t events = 0;
  std::size_t i = 0;
  auto now = start;
  while (now < until) {
    for (int k = 0; k < 16; ++k, i = (i + 1) % s.bodies.size()) {
      const auto r = read(s.bodies[i], s.format, s.events_per_body);
      if (r.events.size() != s.events_per_body) {
        std::cerr << tool << ": " << s.name << " body " << i << " gave " << r.events.size()
                  << " events: " << r.message << "\n";
        std::exit(1);
      }
      events += r.events.size();
    }
    now = clock::now();
  }
  return std::chrono::duration<double, std::nano>(now - start).count() /
         static_cast<double>(events);
}

// Both readers must give the same events: otherwise the timing compares different work.
void require_same(const shape& s) {
  for (const auto& body : s.bodies) {
    const auto a = agg::api::parse_publish(body, s.format, s.events_per_body);
    const auto b = agg::api::parse_publish_reference(body, s.format, s.events_per_body);
    bool same = a.one_pass && a.events.size() == b.events.size();
    for (std::size_t i = 0; same && i < a.events.size(); ++i)
      same = a.events[i].payload == b.events[i].payload &&
             a.events[i].content_hash == b.events[i].content_hash &&
             a.events[i].key_hash == b.events[i].key_hash;
    if (!same) {
      std::cerr << tool << ": the readers disagree on a " << s.name
                << " body (one pass: " << a.one_pass << ")\n";
      std::exit(1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const options opts = parse_options(argc, argv);
  agg_bench::event_shape es;
  es.payload_bytes = opts.payload_bytes;
  const agg_bench::event_generator gen(es);

  agg::api::body_format json;
  agg::api::body_format ndjson;
  ndjson.media = agg::api::media_type::ndjson;
  std::vector<shape> shapes = {
      {"single", json, {}, 1}, {"array", json, {}, opts.batch}, {"ndjson", ndjson, {}, opts.batch}};
  std::uint64_t next = 0;
  for (std::size_t b = 0; b < opts.bodies; ++b) {
    std::string one, array = "[", lines;
    gen.append_event_json(one, next++);
    for (std::size_t i = 0; i < opts.batch; ++i, ++next) {
      if (i > 0) array += ',';
      gen.append_event_json(array, next);
      gen.append_event_json(lines, next);
      lines += '\n';
    }
    array += ']';
    shapes[0].bodies.push_back(std::move(one));
    shapes[1].bodies.push_back(std::move(array));
    shapes[2].bodies.push_back(std::move(lines));
  }

  std::string json_out = "{\"batch\":" + std::to_string(opts.batch) + ",\"shapes\":{";
  for (const auto& s : shapes) {
    require_same(s);
    const double fast = ns_per_event(s, agg::api::parse_publish, opts.seconds);
    const double dom = ns_per_event(s, agg::api::parse_publish_reference, opts.seconds);
    std::fprintf(stderr, "%-7s one pass %7.0f ns/event, DOM %7.0f ns/event: %.2fx\n", s.name, fast,
                 dom, dom / fast);
    char item[200];
    std::snprintf(item, sizeof item,
                  "%s\"%s\":{\"one_pass_ns_per_event\":%.1f,\"dom_ns_per_event\":%.1f,"
                  "\"speedup\":%.3f}",
                  &s == &shapes[0] ? "" : ",", s.name, fast, dom, dom / fast);
    json_out += item;
  }
  std::cout << json_out << "}}\n";
}
