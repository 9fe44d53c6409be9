// agg-load: HTTP load generator for POST /publish (Boost.Beast, async, keep-alive).
//
// Every connection runs one request at a time on keep-alive: write, read, write…
// The next body is rendered while the current request is in flight (a fixed JSON
// template, no DOM; ~0.3 µs per event), so the generator spends its time in the
// kernel, not in building bodies. Connections are spread over --threads io_contexts,
// one thread each; work (which events a request carries) is handed out through one
// atomic counter, so any connection can take the next request.
//
// Events are numbered by send position p. `round(N * dup_ratio)` positions, spread
// evenly, re-send an earlier event (same key, same bytes: a plain duplicate); the rest
// are fresh UUID-keyed events. See event_gen.hpp.

#include "cli.hpp"
#include "event_gen.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

// ---------------------------------------------------------------------------------
// Options. Each says its effect and default; --help prints the same text.
struct options {
  std::string host = "127.0.0.1";     // --host: server address (name or IP). Default 127.0.0.1.
  std::uint16_t port = 8080;          // --port: server port. Default 8080.
  std::string path = "/publish";      // --path: request target. Default /publish.
  std::uint64_t events = 5000;        // --events: events to send (count mode). Default 5000.
  double dup_ratio = 0.2;             // --dup-ratio: share of events that re-send an earlier
                                      //   key, in [0,1). Exactly round(N*ratio). Default 0.2.
  std::size_t batch = 1;              // --batch: events per request; 1 = one event object per
                                      //   POST, >1 = a JSON array of that many. Default 1.
  bool envelope = false;              // --envelope: send batches as {"events":[...]}. Default off.
  bool ndjson = false;                // --format ndjson: one event per line (application/x-ndjson)
                                      //   instead of JSON. Default json.
  int gzip_level = -1;                // --gzip [--gzip-level L]: gzip each body (Content-Encoding:
                                      //   gzip) at level L (1-9, default 6). Default -1 = none.
  std::size_t connections = 16;       // --connections: keep-alive connections. Default 16.
  std::size_t topics = 8;             // --topics: topics the events spread over. Default 8.
  std::size_t payload_bytes = 200;    // --payload-bytes: size of each `payload`. Default 200.
  double duration_s = 0;              // --duration: run this many seconds instead of a count,
                                      //   always with fresh keys. Default 0 = count mode.
  std::optional<std::uint64_t> seed;  // --seed: key space; same seed, same events. Default
                                      //   random, so reruns on one database send new keys.
  bool check_stats = false;           // --check-stats: compare /stats deltas with what was
                                      //   sent; exit 1 on any difference. Default off.
  bool retry_503 = false;             // --retry-503: on 503 wait Retry-After (default 1 s)
                                      //   and resend the same body. Default off (503 fails).
  std::size_t threads = 1;            // --threads: io_context threads. Default 1.
  double timeout_s = 30;              // --timeout: seconds a request may wait for its answer
                                      //   before it counts as failed. Default 30.
  bool progress = true;               // --no-progress: no progress line on stderr.
  std::optional<std::uint64_t> fill_to;  // --fill-to: count mode with as many events as make
                                         //   /stats unique_processed reach N. Default off.
  std::vector<std::pair<std::string, std::string>> headers;  // --header 'Name: value', repeatable:
                                                             //   sent with every request (e.g.
                                                             //   Authorization). Default none.
  std::vector<int> server_pids;  // --server-pid: processes whose CPU time and memory the
                                 //   result reports (the server; nginx: master and
                                 //   workers). Default none.
};

constexpr const char* usage_text =
    R"(agg-load: load generator for the Event Aggregator's POST /publish

usage: agg-load [options]

  --host H           server address (default 127.0.0.1)
  --port P           server port (default 8080)
  --path T           request target (default /publish)
  --events N         number of events to send (default 5000); ignored with --duration
  --dup-ratio R      share of events that are re-sends of an earlier key, 0 <= R < 1
                     (default 0.2). Exactly round(N*R) events are duplicates: same key,
                     same content, so the server counts them as duplicates, not conflicts
  --batch B          events per request: 1 = one event object per POST (default),
                     B > 1 = a JSON array of B events
  --envelope         send batches as {"events": [...]} instead of a bare array
  --format F         json (default): the bodies above; ndjson: one event per line,
                     Content-Type: application/x-ndjson (any --batch)
  --gzip             compress every body with gzip (Content-Encoding: gzip); the result
                     reports the bytes on the wire per event either way
  --gzip-level L     zlib level 1-9 for --gzip (default 6, gzip's own default)
  --connections C    concurrent keep-alive connections (default 16)
  --topics T         number of topics the events spread over (default 8)
  --payload-bytes S  size in bytes of each event's payload object (default 200)
  --duration S       run for S seconds instead of a count, always with fresh keys; the
                     requests started before the deadline complete (default: count mode)
  --seed X           64-bit seed of the key space (default: random per run, so repeated
                     runs against one database send new keys)
  --check-stats      GET /stats before and after; the deltas of received,
                     unique_processed and duplicate_dropped must equal what was sent
                     (and what the 200 answers said), else exit 1. Default off
  --retry-503        on 503, wait Retry-After seconds (1 if absent) and resend the same
                     body; for overload tests. Default off: a 503 is a failed request
  --threads N        io_context threads (default 1)
  --timeout S        seconds a request may wait for its answer before it fails (default 30)
  --header 'N: V'    a header sent with every request, also GET /stats (repeatable), e.g.
                     'Authorization: Bearer <key>' against --auth on
  --no-progress      no progress line (default: one line per second on stderr)
  --fill-to N        count mode: send as many events (with --dup-ratio duplicates) as
                     make GET /stats unique_processed reach N; nothing when it already has
  --server-pid P,... processes (comma-separated or repeated) whose CPU time during the
                     run (from /proc/<pid>/stat, all threads) and memory (VmRSS, VmHWM
                     from /proc/<pid>/status) the result reports, e.g. the server's
  --help             this text

Output: a progress line on stderr at most once a second and a readable summary on stderr
at the end; the result as one JSON object on stdout (events, requests, rates, latency
percentiles, HTTP statuses, CPU time per event of the generator and of --server-pid,
the /stats check). Its fields are listed in bench/load.cpp (write_result).
Exit status: 0 when every request was answered 200 (and --check-stats passed),
1 when a request failed or the stats check failed, 2 on bad usage or no server.
)";

// This tool's name in usage errors.
constexpr std::string_view tool = "agg-load";

[[noreturn]] void usage_error(const std::string& msg) {
  agg_bench::usage_error(tool, msg);
}

template <class T>
T parse_number(std::string_view name, std::string_view text) {
  return agg_bench::parse_number<T>(tool, name, text);
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline = true;
    }
    auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= argc) usage_error("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text;
      std::exit(0);
    } else if (arg == "--host")
      o.host = next();
    else if (arg == "--port")
      o.port = parse_number<std::uint16_t>(arg, next());
    else if (arg == "--path")
      o.path = next();
    else if (arg == "--events")
      o.events = parse_number<std::uint64_t>(arg, next());
    else if (arg == "--dup-ratio")
      o.dup_ratio = parse_number<double>(arg, next());
    else if (arg == "--batch")
      o.batch = parse_number<std::size_t>(arg, next());
    else if (arg == "--envelope")
      o.envelope = true;
    else if (arg == "--header") {
      const std::string h = next();
      const auto colon = h.find(':');
      if (colon == std::string::npos || colon == 0) usage_error("--header must be 'Name: value'");
      std::string v = h.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      o.headers.emplace_back(h.substr(0, colon), v);
    } else if (arg == "--format") {
      const std::string f = next();
      if (f != "json" && f != "ndjson") usage_error("--format must be json or ndjson");
      o.ndjson = f == "ndjson";
    } else if (arg == "--gzip")
      o.gzip_level = o.gzip_level < 0 ? 6 : o.gzip_level;
    else if (arg == "--gzip-level")
      o.gzip_level = parse_number<int>(arg, next());
    else if (arg == "--connections")
      o.connections = parse_number<std::size_t>(arg, next());
    else if (arg == "--topics")
      o.topics = parse_number<std::size_t>(arg, next());
    else if (arg == "--payload-bytes")
      o.payload_bytes = parse_number<std::size_t>(arg, next());
    else if (arg == "--duration")
      o.duration_s = parse_number<double>(arg, next());
    else if (arg == "--seed")
      o.seed = parse_number<std::uint64_t>(arg, next());
    else if (arg == "--check-stats")
      o.check_stats = true;
    else if (arg == "--retry-503")
      o.retry_503 = true;
    else if (arg == "--threads")
      o.threads = parse_number<std::size_t>(arg, next());
    else if (arg == "--timeout")
      o.timeout_s = parse_number<double>(arg, next());
    else if (arg == "--no-progress")
      o.progress = false;
    else if (arg == "--fill-to")
      o.fill_to = parse_number<std::uint64_t>(arg, next());
    else if (arg == "--server-pid") {
      const std::string list = next();
      for (std::size_t from = 0; from <= list.size();) {
        const auto comma = std::min(list.find(',', from), list.size());
        o.server_pids.push_back(
            parse_number<int>(arg, std::string_view(list).substr(from, comma - from)));
        from = comma + 1;
      }
    } else
      usage_error("unknown option " + arg);
  }
  if (!(o.dup_ratio >= 0.0 && o.dup_ratio < 1.0)) usage_error("--dup-ratio must be in [0,1)");
  if (o.batch < 1) usage_error("--batch must be >= 1");
  if (o.gzip_level == 0 || o.gzip_level > 9) usage_error("--gzip-level must be 1-9");
  if (o.ndjson && o.envelope) usage_error("--envelope and --format ndjson exclude each other");
  if (o.connections < 1) usage_error("--connections must be >= 1");
  if (o.topics < 1) usage_error("--topics must be >= 1");
  if (o.threads < 1) usage_error("--threads must be >= 1");
  if (o.duration_s < 0) usage_error("--duration must be >= 0");
  if (o.duration_s == 0 && o.events < 1) usage_error("--events must be >= 1");
  if (o.fill_to && o.duration_s > 0) usage_error("--fill-to and --duration exclude each other");
  if (!(o.timeout_s > 0)) usage_error("--timeout must be > 0");
  return o;
}

// gzip (RFC 1952) of `in` into `out` (replaced), at zlib level `level`.
void gzip(const std::string& in, std::string& out, int level) {
  z_stream s{};
  if (deflateInit2(&s, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  out.resize(deflateBound(&s, static_cast<uLong>(in.size())));
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
}

// ---------------------------------------------------------------------------------
// Work shared by all connections: which positions the next request carries.
class work_source {
 public:
  work_source(const options& o, agg_bench::event_shape shape)
      : opts_(o), gen_(shape), plan_(make_plan(o, shape.seed)) {}

  // Claims the next request; false when the run is over. A claimed request is always
  // sent: a later duplicate may re-send one of its events, so leaving it out would
  // turn that duplicate into a first copy.
  bool claim(std::uint64_t& first, std::uint64_t& count) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    const std::uint64_t r = next_request_.fetch_add(1, std::memory_order_relaxed);
    first = r * opts_.batch;
    if (opts_.duration_s > 0) {
      count = opts_.batch;
      return true;
    }
    if (first >= opts_.events) return false;
    count = std::min<std::uint64_t>(opts_.batch, opts_.events - first);
    return true;
  }

  void stop() { stop_.store(true, std::memory_order_relaxed); }

  // Renders the body of positions [first, first+count) into `out` (replaced), then gzips it
  // with --gzip (`scratch` holds the plain text then).
  void render(std::string& out, std::string& scratch, std::uint64_t first,
              std::uint64_t count) const {
    if (opts_.gzip_level < 0) return render_plain(out, first, count);
    render_plain(scratch, first, count);
    gzip(scratch, out, opts_.gzip_level);
  }

  void render_plain(std::string& out, std::uint64_t first, std::uint64_t count) const {
    out.clear();
    if (opts_.ndjson) {
      for (std::uint64_t p = first; p < first + count; ++p) {
        gen_.append_event_json(out, plan_.event_at(p));
        out += '\n';
      }
      return;
    }
    if (opts_.batch == 1) {
      gen_.append_event_json(out, plan_.event_at(first));
      return;
    }
    out += opts_.envelope ? "{\"events\":[" : "[";
    for (std::uint64_t p = first; p < first + count; ++p) {
      if (p != first) out += ',';
      gen_.append_event_json(out, plan_.event_at(p));
    }
    out += opts_.envelope ? "]}" : "]";
  }

  std::uint64_t uniques_in(std::uint64_t first, std::uint64_t count) const {
    return plan_.uniques_before(first + count) - plan_.uniques_before(first);
  }

  std::uint64_t duplicates_total() const { return plan_.dups_before(opts_.events); }

 private:
  static agg_bench::dup_plan make_plan(const options& o, std::uint64_t seed) {
    if (o.duration_s > 0) {
      // Open-ended run: the ratio as a fraction over 10^6.
      const auto num = static_cast<std::uint64_t>(std::llround(o.dup_ratio * 1e6));
      return {num, 1'000'000, seed};
    }
    auto dups =
        static_cast<std::uint64_t>(std::llround(static_cast<double>(o.events) * o.dup_ratio));
    dups = std::min(dups, o.events - 1);  // the first event is always a fresh key
    return {dups, o.events, seed};
  }

  const options& opts_;
  agg_bench::event_generator gen_;
  agg_bench::dup_plan plan_;
  std::atomic<std::uint64_t> next_request_{0};
  std::atomic<bool> stop_{false};
};

// ---------------------------------------------------------------------------------
// Results of one thread. Plain fields are written only by that thread and read after
// it is joined; the atomics are also read by the progress line while it runs.
struct thread_stats {
  std::atomic<std::uint64_t> events_ok{0};    // events in requests answered 200
  std::atomic<std::uint64_t> requests_ok{0};  // requests answered 200
  std::atomic<std::uint64_t> failures{0};     // requests that failed (any reason)
  std::vector<std::uint32_t> latency_us;      // one entry per answered attempt
  std::array<std::uint64_t, 600> status{};    // answers by HTTP status
  std::uint64_t uniques_ok = 0;               // fresh keys in requests answered 200
  std::uint64_t reported_accepted = 0;        // sum of "accepted" in 200 bodies
  std::uint64_t reported_duplicates = 0;      // sum of "duplicates" in 200 bodies
  std::uint64_t reported_missing = 0;         // 200 bodies without those fields
  std::uint64_t retries_503 = 0;              // resends after a 503
  std::uint64_t wire_bytes = 0;               // request heads and bodies written, resends too
  std::uint64_t body_bytes = 0;               // request bodies written (encoded), resends too
  std::uint64_t io_errors = 0;                // connection reset, refused, parse error
  std::uint64_t timeouts = 0;                 // no answer within --timeout
  std::uint64_t events_failed = 0;            // events in failed requests
  clock_type::time_point last_done{};         // completion time of the last request
  clock_type::time_point first_ok{};          // time of the first 200 (epoch: none yet)

  static void add(std::atomic<std::uint64_t>& a, std::uint64_t n) {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// Finds `"key"` followed by `:` and an unsigned integer in a JSON text. Only the
// top-level counters of a /publish answer have this form: in `results` the words
// "accepted"/"duplicate" are string values, never keys.
std::optional<std::uint64_t> find_counter(std::string_view body, std::string_view quoted_key) {
  std::size_t from = 0;
  while (true) {
    const auto at = body.find(quoted_key, from);
    if (at == std::string_view::npos) return std::nullopt;
    std::size_t i = at + quoted_key.size();
    while (i < body.size() &&
           (body[i] == ' ' || body[i] == '\n' || body[i] == '\t' || body[i] == '\r'))
      ++i;
    if (i < body.size() && body[i] == ':') {
      ++i;
      while (i < body.size() &&
             (body[i] == ' ' || body[i] == '\n' || body[i] == '\t' || body[i] == '\r'))
        ++i;
      std::uint64_t v = 0;
      const auto res = std::from_chars(body.data() + i, body.data() + body.size(), v);
      if (res.ec == std::errc{}) return v;
      return std::nullopt;
    }
    from = at + 1;
  }
}

// ---------------------------------------------------------------------------------
// One keep-alive connection. Owned by main; all handlers run on its io_context's
// single thread, so no member needs a lock.
class connection {
 public:
  connection(asio::io_context& ioc, const options& o, work_source& work, thread_stats& stats,
             const tcp::resolver::results_type& endpoints)
      : socket_(ioc),
        retry_timer_(ioc),
        opts_(o),
        work_(work),
        stats_(stats),
        endpoints_(endpoints) {
    req_.method(http::verb::post);
    req_.target(opts_.path);
    req_.version(11);
    req_.set(http::field::host, opts_.host + ":" + std::to_string(opts_.port));
    req_.set(http::field::content_type, o.ndjson ? "application/x-ndjson" : "application/json");
    if (o.gzip_level > 0) req_.set(http::field::content_encoding, "gzip");
    req_.set(http::field::user_agent, "agg-load");
    for (const auto& [name, value] : o.headers) req_.set(name, value);
    req_.keep_alive(true);
    // The head's size without its Content-Length field, which do_write adds per body.
    std::ostringstream head;
    head << req_.base();
    head_bytes_ = head.str().size() + std::string_view("Content-Length: \r\n").size();
  }

  // Synchronous connect, done by main before the clock starts.
  void connect_now() {
    asio::connect(socket_, endpoints_);
    socket_.set_option(tcp::no_delay(true));
  }

  void start() {
    if (!prepare_next()) return finish();
    do_write();
  }

  bool finished() const { return finished_; }

  // Watchdog, on this connection's thread: fails a request waiting too long.
  void check_timeout(clock_type::time_point now) {
    if (in_flight_ && now - sent_at_ > std::chrono::duration<double>(opts_.timeout_s)) {
      timed_out_ = true;
      error_code ignored;
      socket_.close(ignored);
    }
  }

 private:
  // Claims the next request and renders it into next_body_.
  bool prepare_next() {
    if (!work_.claim(next_first_, next_count_)) return false;
    work_.render(next_body_, plain_, next_first_, next_count_);
    has_next_ = true;
    return true;
  }

  void do_write() {
    // Swap the rendered body in: both strings keep their capacity.
    req_.body().swap(next_body_);
    cur_first_ = next_first_;
    cur_count_ = next_count_;
    has_next_ = false;
    req_.prepare_payload();
    send_current();
  }

  void send_current() {
    const std::size_t body = req_.body().size();
    stats_.body_bytes += body;
    stats_.wire_bytes += head_bytes_ + body + std::to_string(body).size();
    in_flight_ = true;
    sent_at_ = clock_type::now();
    http::async_write(socket_, req_, [this](error_code ec, std::size_t) { on_write(ec); });
  }

  void on_write(error_code ec) {
    if (ec) return on_failure(ec);
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read(socket_, buffer_, *parser_, [this](error_code e, std::size_t) { on_read(e); });
    // Render the next body while the server works on this one.
    if (!has_next_) prepare_next();
  }

  void on_read(error_code ec) {
    if (ec) return on_failure(ec);
    in_flight_ = false;
    const auto now = clock_type::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_).count();
    stats_.latency_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
    stats_.last_done = now;
    auto& res = parser_->get();
    const unsigned code = res.result_int();
    ++stats_.status[std::min<std::size_t>(code, stats_.status.size() - 1)];
    const bool keep = res.keep_alive();

    if (code == 503 && opts_.retry_503) {
      ++stats_.retries_503;
      double wait_s = 1;
      if (const auto it = res.find(http::field::retry_after); it != res.end()) {
        std::uint64_t v = 0;
        const auto sv = it->value();
        if (std::from_chars(sv.data(), sv.data() + sv.size(), v).ec == std::errc{})
          wait_s = static_cast<double>(v);
      }
      retry_timer_.expires_after(
          std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(wait_s)));
      retry_timer_.async_wait([this, keep](error_code) {
        if (!keep)
          return reconnect(cur_count_ + (has_next_ ? next_count_ : 0), [this] { send_current(); });
        send_current();
      });
      return;
    }

    if (code == 200) {
      if (stats_.first_ok == clock_type::time_point{}) stats_.first_ok = now;
      thread_stats::add(stats_.requests_ok, 1);
      thread_stats::add(stats_.events_ok, cur_count_);
      stats_.uniques_ok += work_.uniques_in(cur_first_, cur_count_);
      const std::string_view body = res.body();
      const auto acc = find_counter(body, "\"accepted\"");
      const auto dup = find_counter(body, "\"duplicates\"");
      if (acc && dup) {
        stats_.reported_accepted += *acc;
        stats_.reported_duplicates += *dup;
      } else {
        ++stats_.reported_missing;
      }
    } else {
      thread_stats::add(stats_.failures, 1);
      stats_.events_failed += cur_count_;
      if (failures_reported_++ < 3)
        std::cerr << "agg-load: HTTP " << code << ": " << res.body().substr(0, 300) << "\n";
    }
    next_step(keep);
  }

  void next_step(bool keep_alive) {
    if (!has_next_ && !prepare_next()) return finish();
    if (!keep_alive) return reconnect(next_count_, [this] { do_write(); });
    do_write();
  }

  void on_failure(error_code ec) {
    in_flight_ = false;
    stats_.last_done = clock_type::now();
    thread_stats::add(stats_.failures, 1);
    stats_.events_failed += cur_count_;
    if (timed_out_) {
      ++stats_.timeouts;
      timed_out_ = false;
    } else {
      ++stats_.io_errors;
    }
    if (failures_reported_++ < 3)
      std::cerr << "agg-load: connection error: " << ec.message() << "\n";
    next_step(false);
  }

  // Opens a new connection, then runs `then`; if that fails, the `lost_events` already
  // claimed by this connection count as failed and the connection ends.
  template <class Then>
  void reconnect(std::uint64_t lost_events, Then then) {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    buffer_.clear();
    asio::async_connect(socket_, endpoints_,
                        [this, lost_events, then](error_code ec, const tcp::endpoint&) {
                          if (ec) {
                            std::cerr << "agg-load: reconnect failed: " << ec.message() << "\n";
                            ++stats_.io_errors;
                            // The claimed request(s) cannot be sent: count them as failed.
                            thread_stats::add(stats_.failures, 1);
                            stats_.events_failed += lost_events;
                            return finish();
                          }
                          error_code ignored2;
                          socket_.set_option(tcp::no_delay(true), ignored2);
                          then();
                        });
  }

  void finish() {
    finished_ = true;
    in_flight_ = false;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    retry_timer_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer retry_timer_;
  const options& opts_;
  work_source& work_;
  thread_stats& stats_;
  const tcp::resolver::results_type& endpoints_;

  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string next_body_;
  std::string plain_;                              // --gzip: the body before compression
  std::size_t head_bytes_ = 0;                     // request head without Content-Length
  std::uint64_t cur_first_ = 0, cur_count_ = 0;    // request on the wire
  std::uint64_t next_first_ = 0, next_count_ = 0;  // request rendered ahead
  bool has_next_ = false;
  bool in_flight_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
  clock_type::time_point sent_at_{};
  unsigned failures_reported_ = 0;
};

// One io_context, its thread's stats and a once-a-second watchdog over its connections.
struct worker {
  asio::io_context ioc{1};
  thread_stats stats;
  std::vector<std::unique_ptr<connection>> conns;
  std::unique_ptr<asio::steady_timer> watchdog;

  void arm_watchdog() {
    watchdog->expires_after(std::chrono::milliseconds(250));
    watchdog->async_wait([this](error_code ec) {
      if (ec) return;
      const auto now = clock_type::now();
      bool any_running = false;
      for (auto& c : conns) {
        c->check_timeout(now);
        any_running = any_running || !c->finished();
      }
      if (any_running) arm_watchdog();
    });
  }
};

// ---------------------------------------------------------------------------------
// GET /stats over a fresh connection (blocking; used before and after the run).
struct stats_snapshot {
  std::uint64_t received = 0, unique_processed = 0, duplicate_dropped = 0, conflicts = 0;
};

std::optional<stats_snapshot> fetch_stats(const options& o,
                                          const tcp::resolver::results_type& endpoints,
                                          std::string& error) {
  try {
    asio::io_context ioc;
    tcp::socket sock(ioc);
    asio::connect(sock, endpoints);
    http::request<http::empty_body> req{http::verb::get, "/stats", 11};
    req.set(http::field::host, o.host + ":" + std::to_string(o.port));
    req.set(http::field::user_agent, "agg-load");
    for (const auto& [name, value] : o.headers) req.set(name, value);
    http::write(sock, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    if (res.result_int() != 200) {
      error = "GET /stats answered " + std::to_string(res.result_int());
      return std::nullopt;
    }
    error_code jec;
    const json::value v = json::parse(res.body(), jec);
    if (jec || !v.is_object()) {
      error = "GET /stats: body is not a JSON object";
      return std::nullopt;
    }
    const auto& obj = v.as_object();
    for (const char* k : {"received", "unique_processed", "duplicate_dropped"}) {
      if (!obj.contains(k)) {
        error = std::string("GET /stats: no \"") + k + "\" field (is this the aggregator?)";
        return std::nullopt;
      }
    }
    auto get = [&](const char* k) { return obj.at(k).to_number<std::uint64_t>(); };
    stats_snapshot s;
    s.received = get("received");
    s.unique_processed = get("unique_processed");
    s.duplicate_dropped = get("duplicate_dropped");
    if (const auto* c = obj.if_contains("conflicts")) s.conflicts = c->to_number<std::uint64_t>();
    return s;
  } catch (const boost::system::system_error& e) {
    error = "GET /stats failed: " + e.code().message();
    return std::nullopt;
  } catch (const std::exception& e) {
    error = std::string("GET /stats failed: ") + e.what();
    return std::nullopt;
  }
}

// CPU seconds (user + system) this process has used so far, all threads.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// CPU time and memory of the --server-pid processes, summed over them: user + system
// time of all threads from /proc/<pid>/stat (fields 14 and 15, in clock ticks), VmRSS
// and VmHWM from /proc/<pid>/status. `ok` is false when a process could not be read
// (it ended), so a missing number is never reported as a small one.
struct proc_sample {
  double cpu_s = 0;
  std::uint64_t rss_kb = 0, hwm_kb = 0;
  bool ok = true;
};

proc_sample sample_processes(const std::vector<int>& pids) {
  proc_sample total;
  const auto ticks_per_s = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const int pid : pids) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
      total.ok = false;
      continue;
    }
    // The command name (field 2) may hold spaces: count fields after its ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    std::string field;
    double utime = 0, stime = 0;
    for (int n = 3; n <= 15 && rest >> field; ++n) {
      if (n == 14) utime = std::stod(field);
      if (n == 15) stime = std::stod(field);
    }
    total.cpu_s += (utime + stime) / ticks_per_s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    while (std::getline(status, line)) {
      std::istringstream fields(line);
      std::string key;
      std::uint64_t kb = 0;
      fields >> key >> kb;
      if (key == "VmRSS:") total.rss_kb += kb;
      if (key == "VmHWM:") total.hwm_kb += kb;
    }
  }
  return total;
}

// The smallest count of events whose fresh keys reach `need` with `dup_ratio`
// duplicates, as work_source plans them: round(n * ratio) duplicates, at most n - 1.
std::uint64_t events_for_uniques(std::uint64_t need, double dup_ratio) {
  auto uniques = [&](std::uint64_t n) {
    const auto dups = std::min<std::uint64_t>(
        static_cast<std::uint64_t>(std::llround(static_cast<double>(n) * dup_ratio)), n - 1);
    return n - dups;
  };
  auto n = static_cast<std::uint64_t>(static_cast<double>(need) / (1.0 - dup_ratio));
  n = n > 2 ? n - 2 : 1;
  while (uniques(n) < need) ++n;
  return n;
}

json::object stats_json(const stats_snapshot& s) {
  return {{"received", s.received},
          {"unique_processed", s.unique_processed},
          {"duplicate_dropped", s.duplicate_dropped},
          {"conflicts", s.conflicts}};
}

double ms_at(const std::vector<std::uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto n = static_cast<double>(sorted.size());
  auto idx = static_cast<std::size_t>(std::ceil(q * n));
  idx = std::clamp<std::size_t>(idx, 1, sorted.size()) - 1;
  return sorted[idx] / 1000.0;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  options opts = parse_options(argc, argv);
  const std::uint64_t seed =
      opts.seed ? *opts.seed : std::random_device{}() * 0x100000001ULL ^ std::random_device{}();

  asio::io_context resolve_ioc;
  tcp::resolver::results_type endpoints;
  try {
    tcp::resolver resolver(resolve_ioc);
    endpoints = resolver.resolve(opts.host, std::to_string(opts.port));
  } catch (const std::exception& e) {
    std::cerr << "agg-load: cannot resolve " << opts.host << ": " << e.what() << "\n";
    return 2;
  }

  std::optional<stats_snapshot> before;
  if (opts.check_stats || opts.fill_to) {
    std::string err;
    before = fetch_stats(opts, endpoints, err);
    if (!before) {
      std::cerr << "agg-load: " << err << "\n";
      return 2;
    }
  }

  json::object result{{"tool", "agg-load"},
                      {"target", opts.host + ":" + std::to_string(opts.port) + opts.path},
                      {"mode", opts.duration_s > 0 ? "duration" : "count"},
                      {"duration_s", opts.duration_s},
                      {"batch", opts.batch},
                      {"format", opts.ndjson ? "ndjson" : "json"},
                      {"gzip_level", opts.gzip_level},
                      {"connections", opts.connections},
                      {"threads", opts.threads},
                      {"dup_ratio", opts.dup_ratio},
                      {"seed", seed}};
  if (opts.fill_to) {
    result["fill_to"] = *opts.fill_to;
    if (before->unique_processed >= *opts.fill_to) {
      std::cerr << "agg-load: /stats unique_processed is " << before->unique_processed
                << ", already at least " << *opts.fill_to << ": nothing to send\n";
      result["events"] = 0;
      result["stats_before"] = stats_json(*before);
      std::cout << json::serialize(result) << "\n";
      return 0;
    }
    opts.events = events_for_uniques(*opts.fill_to - before->unique_processed, opts.dup_ratio);
  }

  agg_bench::event_shape shape;
  shape.seed = seed;
  shape.topics = opts.topics;
  shape.payload_bytes = opts.payload_bytes;
  work_source work(opts, shape);

  std::vector<std::unique_ptr<worker>> workers;
  for (std::size_t t = 0; t < opts.threads; ++t) {
    workers.push_back(std::make_unique<worker>());
    workers.back()->watchdog = std::make_unique<asio::steady_timer>(workers.back()->ioc);
  }
  try {
    for (std::size_t c = 0; c < opts.connections; ++c) {
      auto& w = *workers[c % opts.threads];
      w.conns.push_back(std::make_unique<connection>(w.ioc, opts, work, w.stats, endpoints));
      w.conns.back()->connect_now();
    }
  } catch (const boost::system::system_error& e) {
    std::cerr << "agg-load: cannot connect to " << opts.host << ":" << opts.port << ": "
              << e.code().message() << "\n";
    return 2;
  }

  const std::string mode = opts.duration_s > 0 ? fixed(opts.duration_s, 1) + " s"
                                               : std::to_string(opts.events) + " events";
  std::cerr << "agg-load: " << mode << " to " << opts.host << ":" << opts.port << opts.path
            << ", batch " << opts.batch << ", " << opts.connections << " connections, "
            << opts.threads << " thread(s), dup-ratio " << opts.dup_ratio << ", seed " << seed
            << "\n";

  std::mutex done_mu;
  std::condition_variable done_cv;
  std::size_t running = workers.size();  // guarded by done_mu

  const proc_sample server0 = sample_processes(opts.server_pids);
  const double cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  const auto wall_t0 = std::chrono::system_clock::now();
  std::vector<std::thread> threads;
  for (auto& wp : workers) {
    worker* w = wp.get();
    for (auto& c : w->conns) asio::post(w->ioc, [c = c.get()] { c->start(); });
    w->arm_watchdog();
    threads.emplace_back([w, &done_mu, &done_cv, &running] {
      w->ioc.run();
      std::lock_guard lock(done_mu);
      --running;
      done_cv.notify_all();
    });
  }

  // Progress once a second; the deadline of a --duration run.
  const auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(opts.duration_s));
  auto last_print = t0;
  std::uint64_t last_events = 0;
  {
    std::unique_lock lock(done_mu);
    while (running > 0) {
      auto wake = clock_type::now() + std::chrono::seconds(1);
      if (opts.duration_s > 0 && clock_type::now() < deadline) wake = std::min(wake, deadline);
      done_cv.wait_until(lock, wake, [&] { return running == 0; });
      const auto now = clock_type::now();
      if (opts.duration_s > 0 && now >= deadline) work.stop();
      if (running > 0 && opts.progress && now - last_print >= std::chrono::seconds(1)) {
        std::uint64_t ev = 0, rq = 0, fl = 0;
        for (auto& w : workers) {
          ev += w->stats.events_ok.load(std::memory_order_relaxed);
          rq += w->stats.requests_ok.load(std::memory_order_relaxed);
          fl += w->stats.failures.load(std::memory_order_relaxed);
        }
        const double dt = std::chrono::duration<double>(now - last_print).count();
        const double el = std::chrono::duration<double>(now - t0).count();
        std::cerr << "progress: " << fixed(el, 1) << " s  events " << ev;
        if (opts.duration_s == 0) std::cerr << "/" << opts.events;
        std::cerr << "  requests " << rq << "  failed " << fl << "  now "
                  << fixed(static_cast<double>(ev - last_events) / dt, 0) << " events/s\n";
        last_print = now;
        last_events = ev;
      }
    }
  }
  for (auto& t : threads) t.join();
  const double cpu_used = cpu_seconds() - cpu0;
  const proc_sample server1 = sample_processes(opts.server_pids);

  // Merge the threads' results.
  thread_stats total;
  std::vector<std::uint32_t> lat;
  auto t_end = t0;
  std::optional<clock_type::time_point> first_ok;
  std::uint64_t events_ok = 0, requests_ok = 0, failures = 0;
  for (auto& w : workers) {
    auto& s = w->stats;
    events_ok += s.events_ok.load();
    requests_ok += s.requests_ok.load();
    failures += s.failures.load();
    lat.insert(lat.end(), s.latency_us.begin(), s.latency_us.end());
    for (std::size_t i = 0; i < s.status.size(); ++i) total.status[i] += s.status[i];
    total.uniques_ok += s.uniques_ok;
    total.reported_accepted += s.reported_accepted;
    total.reported_duplicates += s.reported_duplicates;
    total.reported_missing += s.reported_missing;
    total.retries_503 += s.retries_503;
    total.wire_bytes += s.wire_bytes;
    total.body_bytes += s.body_bytes;
    total.io_errors += s.io_errors;
    total.timeouts += s.timeouts;
    total.events_failed += s.events_failed;
    t_end = std::max(t_end, s.last_done);
    if (s.first_ok != clock_type::time_point{})
      first_ok = std::min(first_ok.value_or(s.first_ok), s.first_ok);
  }
  std::sort(lat.begin(), lat.end());
  const double elapsed = std::max(1e-9, std::chrono::duration<double>(t_end - t0).count());
  const double eps = static_cast<double>(events_ok) / elapsed;
  const double rps = static_cast<double>(requests_ok) / elapsed;
  const std::uint64_t dups_ok = events_ok - total.uniques_ok;
  const double p50 = ms_at(lat, 0.50), p90 = ms_at(lat, 0.90), p99 = ms_at(lat, 0.99);
  const double pmax = lat.empty() ? 0 : lat.back() / 1000.0;
  const auto per_event_us = [&](double seconds) {
    return events_ok ? seconds * 1e6 / static_cast<double>(events_ok) : 0.0;
  };

  std::string status_text;
  json::object status_json;
  for (std::size_t i = 0; i < total.status.size(); ++i) {
    if (total.status[i] == 0) continue;
    status_text += " " + std::to_string(i) + "=" + std::to_string(total.status[i]);
    status_json[std::to_string(i)] = total.status[i];
  }
  if (total.io_errors) status_text += " io_error=" + std::to_string(total.io_errors);
  if (total.timeouts) status_text += " timeout=" + std::to_string(total.timeouts);

  std::cerr << "agg-load summary\n"
            << "  events sent     " << events_ok << " (" << total.uniques_ok << " fresh keys, "
            << dups_ok << " duplicates) in " << requests_ok << " requests answered 200\n"
            << "  failed          " << failures << " requests (" << total.events_failed
            << " events)";
  if (total.retries_503) std::cerr << ", " << total.retries_503 << " resent after 503";
  std::cerr << "\n"
            << "  elapsed         " << fixed(elapsed, 3) << " s (generator CPU "
            << fixed(cpu_used, 2) << " s, "
            << fixed(cpu_used * 1e6 / static_cast<double>(std::max<std::uint64_t>(requests_ok, 1)),
                     1)
            << " us per request)\n"
            << "  throughput      " << fixed(eps, 1) << " events/s, " << fixed(rps, 1)
            << " requests/s\n"
            << "  wire            "
            << fixed(events_ok
                         ? static_cast<double>(total.wire_bytes) / static_cast<double>(events_ok)
                         : 0.0,
                     1)
            << " bytes per event (heads and bodies, " << total.wire_bytes << " bytes)\n"
            << "  latency         p50 " << fixed(p50, 3) << " ms, p90 " << fixed(p90, 3)
            << " ms, p99 " << fixed(p99, 3) << " ms, max " << fixed(pmax, 3) << " ms\n"
            << "  status         " << (status_text.empty() ? " none" : status_text) << "\n";
  if (!opts.server_pids.empty())
    std::cerr << "  server          CPU " << fixed(server1.cpu_s - server0.cpu_s, 2) << " s ("
              << fixed(per_event_us(server1.cpu_s - server0.cpu_s), 1) << " us per event), RSS "
              << server1.rss_kb / 1024 << " MB, peak " << server1.hwm_kb / 1024 << " MB\n";

  bool ok = failures == 0 && (opts.duration_s > 0 || events_ok == opts.events);
  json::object check{{"result", "skipped"}};
  if (opts.check_stats) {
    std::string err;
    const auto after = fetch_stats(opts, endpoints, err);
    json::array problems;
    if (!after) {
      problems.emplace_back(err);
    } else {
      check["before"] = stats_json(*before);
      check["after"] = stats_json(*after);
      const std::uint64_t d_recv = after->received - before->received;
      const std::uint64_t d_uniq = after->unique_processed - before->unique_processed;
      const std::uint64_t d_dup = after->duplicate_dropped - before->duplicate_dropped;
      const std::uint64_t d_conf = after->conflicts - before->conflicts;
      auto expect = [&](const char* what, std::uint64_t got, std::uint64_t want) {
        if (got != want)
          problems.emplace_back(std::string(what) + " " + std::to_string(got) + " != expected " +
                                std::to_string(want));
      };
      expect("received delta", d_recv, events_ok);
      expect("unique_processed delta", d_uniq, total.uniques_ok);
      expect("duplicate_dropped delta", d_dup, dups_ok);
      expect("conflicts delta", d_conf, 0);
      if (after->received != after->unique_processed + after->duplicate_dropped)
        problems.emplace_back("received != unique_processed + duplicate_dropped in /stats");
      if (total.reported_missing == 0) {
        expect("sum of 200 answers' accepted", total.reported_accepted, total.uniques_ok);
        expect("sum of 200 answers' duplicates", total.reported_duplicates, dups_ok);
      } else {
        problems.emplace_back(std::to_string(total.reported_missing) +
                              " 200 answers without accepted/duplicates");
      }
      if (failures != 0)
        problems.emplace_back(std::to_string(failures) +
                              " requests failed, so the expected counts are unknown");
      if (opts.duration_s == 0 && events_ok + total.events_failed != opts.events && failures == 0)
        problems.emplace_back("not every event was sent");
      std::cerr << "  stats check     received +" << d_recv << ", unique_processed +" << d_uniq
                << ", duplicate_dropped +" << d_dup << ", conflicts +" << d_conf << " (expected +"
                << events_ok << ", +" << total.uniques_ok << ", +" << dups_ok << ", +0): ";
    }
    check["result"] = problems.empty() ? "ok" : "failed";
    std::cerr << (problems.empty() ? "OK\n" : "FAILED\n");
    for (const auto& p : problems) std::cerr << "    " << p.as_string().c_str() << "\n";
    if (!problems.empty()) ok = false;
    check["problems"] = std::move(problems);
  }

  // The result. Times are seconds, latencies milliseconds (of every answered attempt),
  // CPU per event microseconds; *_unix_ns are wall-clock times for relating the run to
  // other events (e.g. the start of a server process).
  const auto unix_ns = [&](clock_type::time_point t) {
    const auto wall =
        wall_t0 + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - t0);
    return static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count());
  };
  result["events"] = events_ok;
  result["unique"] = total.uniques_ok;
  result["duplicates"] = dups_ok;
  result["requests"] = requests_ok;
  result["failed"] = failures;
  result["events_failed"] = total.events_failed;
  result["elapsed_s"] = elapsed;
  result["events_per_s"] = eps;
  result["requests_per_s"] = rps;
  result["latency_ms"] = {{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", pmax}};
  result["status"] = std::move(status_json);
  result["io_errors"] = total.io_errors;
  result["timeouts"] = total.timeouts;
  result["retries_503"] = total.retries_503;
  // Bytes the requests put on the wire (HTTP heads and encoded bodies, resends included).
  result["wire_bytes"] = total.wire_bytes;
  result["body_bytes"] = total.body_bytes;
  result["wire_bytes_per_event"] =
      events_ok ? static_cast<double>(total.wire_bytes) / static_cast<double>(events_ok) : 0.0;
  result["generator_cpu_s"] = cpu_used;
  result["generator_cpu_us_per_event"] = per_event_us(cpu_used);
  if (!opts.server_pids.empty()) {
    json::array pids;
    for (const int p : opts.server_pids) pids.emplace_back(p);
    json::object server{{"pids", std::move(pids)}, {"complete", server0.ok && server1.ok}};
    server["cpu_s"] = server1.cpu_s - server0.cpu_s;
    server["cpu_us_per_event"] = per_event_us(server1.cpu_s - server0.cpu_s);
    server["rss_kb_before"] = server0.rss_kb;
    server["rss_kb_after"] = server1.rss_kb;
    server["hwm_kb_after"] = server1.hwm_kb;
    result["server"] = std::move(server);
  }
  result["start_unix_ns"] = unix_ns(t0);
  if (first_ok) result["first_ok_unix_ns"] = unix_ns(*first_ok);
  result["check"] = std::move(check);
  result["ok"] = ok;
  std::cout << json::serialize(result) << "\n";
  return ok ? 0 : 1;
}
