#include "core/options.hpp"

#include <charconv>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace agg {
namespace {

template <class Int>
Int parse_uint(std::string_view name, std::string_view v, Int min, Int max) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || n < min || n > max)
    throw std::invalid_argument("invalid value '" + std::string(v) + "' for --" +
                                std::string(name) + ": expected an integer from " +
                                std::to_string(min) + " to " + std::to_string(max));
  return static_cast<Int>(n);
}

void apply(options& o, std::string_view name, std::string_view v) {
  if (name == "host") {
    if (v.empty()) throw std::invalid_argument("invalid value '' for --host");
    o.host = v;
  } else if (name == "port") {
    o.port = parse_uint<std::uint16_t>(name, v, 0, 65535);
  } else if (name == "db") {
    if (v.empty()) throw std::invalid_argument("invalid value '' for --db");
    o.db = v;
  } else if (name == "threads") {
    o.threads = parse_uint<unsigned>(name, v, 0, 256);
  } else if (name == "queue-capacity") {
    o.queue_capacity = parse_uint<std::size_t>(name, v, 1, std::size_t{1} << 24);
  } else if (name == "batch-max") {
    o.batch_max = parse_uint<std::size_t>(name, v, 1, 1000000);
  } else if (name == "linger-ms") {
    o.linger_ms = parse_uint<unsigned>(name, v, 0, 10000);
  } else if (name == "sync") {
    if (v == "normal")
      o.sync = sync_mode::normal;
    else if (v == "full")
      o.sync = sync_mode::full;
    else
      throw std::invalid_argument("invalid value '" + std::string(v) +
                                  "' for --sync: expected normal or full");
  } else if (name == "max-body") {
    o.max_body = parse_uint<std::size_t>(name, v, 1, std::size_t{1} << 31);
  } else if (name == "max-batch") {
    o.max_batch = parse_uint<std::size_t>(name, v, 1, 1000000);
  } else if (name == "log-level") {
    if (!parse_log_level(v, o.level))
      throw std::invalid_argument("invalid value '" + std::string(v) +
                                  "' for --log-level: expected debug, info, warn or error");
  } else {
    throw std::invalid_argument("unknown flag --" + std::string(name) + " (see --help)");
  }
}

constexpr std::string_view flag_names[] = {"host",           "port",      "db",        "threads",
                                           "queue-capacity", "batch-max", "linger-ms", "sync",
                                           "max-body",       "max-batch", "log-level"};

}  // namespace

options parse_options(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      bool& help) {
  options o;
  help = false;
  // Environment first, so that flags override it.
  for (const std::string_view name : flag_names) {
    std::string var = "AGG_";
    for (const char c : name) var.push_back(c == '-' ? '_' : static_cast<char>(c - 'a' + 'A'));
    var.push_back('=');
    for (const auto& e : env)
      if (e.size() >= var.size() && e.compare(0, var.size(), var) == 0)
        apply(o, name, std::string_view(e).substr(var.size()));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      help = true;
      return o;
    }
    if (a.substr(0, 2) != "--")
      throw std::invalid_argument("unexpected argument '" + std::string(a) + "' (see --help)");
    a.remove_prefix(2);
    if (const auto eq = a.find('='); eq != std::string_view::npos) {
      apply(o, a.substr(0, eq), a.substr(eq + 1));
    } else {
      if (i + 1 >= args.size())
        throw std::invalid_argument("missing value for --" + std::string(a));
      apply(o, a, args[++i]);
    }
  }
  return o;
}

const char* usage() noexcept {
  return R"(usage: aggregator [flags]

Event Aggregator: idempotent HTTP event intake with durable SQLite storage.
Every flag is also read from the environment as AGG_<NAME> (e.g. AGG_PORT=9000,
AGG_QUEUE_CAPACITY=1024); the flag wins.

  --host ADDR            address to listen on (default 0.0.0.0)
  --port N               TCP port; 0 picks a free one (default 8080)
  --db PATH              SQLite file, created with its folder (default ./data/events.db)
  --threads N            HTTP threads; 0 = one per core (default 0)
  --queue-capacity N     events the intake queue holds before 503 (default 65536)
  --batch-max N          most events per SQLite transaction (default 4096)
  --linger-ms N          after an idle spell, wait this long for a burst to fill a batch
                         (default 2; 0 never waits)
  --sync normal|full     normal survives a process crash; full also power loss (default normal)
  --max-body BYTES       largest request body, else 413 (default 16777216)
  --max-batch N          most events per request, else 413 (default 10000)
  --log-level LEVEL      debug, info, warn or error (default info)
  -h, --help             this text
)";
}

}  // namespace agg
