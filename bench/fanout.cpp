// agg-fanout: the subscribe side under load (scripts/bench-subscribe). Prints one JSON line.
//
//   --mode fanout   N SSE subscribers follow `after=latest` while one publisher sends batches
//                   at --rate events/s (0: as fast as it can) for --seconds. Reports deliveries/s,
//                   delivery latency (the publisher's 200 -> the subscriber's read) p50/p99/max,
//                   the publish rate and the server's RSS; checks that every subscriber got every
//                   event exactly once, in order (a miss or repeat fails with exit 1).
//   --mode idle     N idle subscribers: the server's RSS before and after they connect.
//   --mode catchup  publishes --events events, then times one SSE subscriber from after=0 and
//                   GET /events paging (limit 1000) over all of them.
#include "cli.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr std::string_view tool = "agg-fanout";

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now().time_since_epoch())
      .count();
}

struct config {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string mode = "fanout";
  std::size_t subscribers = 100;
  std::size_t rate = 20000;  // events/s; 0 = as fast as one connection goes
  std::size_t batch = 100;
  double seconds = 10;
  std::size_t events = 1000000;  // catchup
  int server_pid = 0;
};

long rss_kib(int pid) {
  if (!pid) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A blocking keep-alive HTTP client for the publisher and /events paging.
class client {
 public:
  explicit client(const config& c) : socket_(ioc_) {
    asio::connect(socket_, tcp::resolver(ioc_).resolve(c.host, c.port));
    host_ = c.host;
  }
  http::response<http::string_body> request(http::verb v, const std::string& target,
                                            std::string body = {}) {
    http::request<http::string_body> req{v, target, 11};
    req.set(http::field::host, host_);
    if (v == http::verb::post) req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(socket_, req);
    http::response<http::string_body> res;
    http::response_parser<http::string_body> p;
    p.body_limit(1u << 30);
    http::read(socket_, buffer_, p);
    res = p.release();
    if (res.result() != http::status::ok) {
      std::cerr << tool << ": " << target << " -> " << res.result_int() << " " << res.body()
                << "\n";
      std::exit(1);
    }
    return res;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::string host_;
};

std::string batch_body(std::size_t first, std::size_t n, const std::string& prefix) {
  std::string b = "[";
  for (std::size_t i = first; i < first + n; ++i) {
    if (i > first) b += ',';
    b +=
        R"({"topic":"fan.out","event_id":")" + prefix + std::to_string(i) +
        R"(","timestamp":"2026-11-24T10:15:00Z","source":"agg-fanout","payload":{"order":)" +
        std::to_string(i) +
        R"(,"amount":42.5,"note":"a typical payload of about one hundred and fifty bytes, padded"}})";
  }
  return b + "]";
}

// One SSE subscriber on the shared io_context: counts event ids "<prefix><k>" in order.
struct subscriber : std::enable_shared_from_this<subscriber> {
  subscriber(asio::io_context& ioc, const std::string& id_prefix)
      : socket(ioc), pattern("\"event_id\":\"" + id_prefix) {}
  tcp::socket socket;
  std::string pattern;  // what precedes each event's number
  // Reads land at buf[len]; before them, what the last scan left (an event cut by a read).
  std::vector<char> buf = std::vector<char>(256 * 1024);
  std::size_t len = 0;
  std::int64_t next = 0;                 // the id expected next
  std::atomic<std::size_t> received{0};  // read by the main thread while the io thread counts
  std::size_t errors = 0;
  std::function<void(std::size_t k, std::int64_t at)> on_event;

  void start(const tcp::resolver::results_type& ep, const std::string& target) {
    asio::connect(socket, ep);
    const std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
    asio::write(socket, asio::buffer(req));
    read();
  }
  // Reads straight into buf and scans in place (no copy, no zero fill): at two million events
  // a second the reader shares the cores with the server it measures, so every pass over the
  // bytes it saves is CPU the server gets back, and latency this benchmark stops adding.
  void read() {
    socket.async_read_some(
        asio::buffer(buf.data() + len, buf.size() - len),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec) return;
          self->len += n;
          self->scan();
          self->read();
        });
  }
  void scan() {
    const std::string& pat = pattern;
    std::size_t pos = 0, done = 0;
    const auto t = now_us();
    auto find = [&](std::size_t from) -> std::size_t {  // glibc's memmem: no restart per '"'
      const void* at = memmem(buf.data() + from, len - from, pat.data(), pat.size());
      return at ? static_cast<std::size_t>(static_cast<const char*>(at) - buf.data())
                : std::string::npos;
    };
    while ((pos = find(pos)) != std::string::npos) {
      std::size_t end = pos + pat.size();
      while (end < len && buf[end] >= '0' && buf[end] <= '9') ++end;
      if (end == len) break;  // the number may go on in the next read
      std::int64_t k = 0;
      std::from_chars(buf.data() + pos + pat.size(), buf.data() + end, k);
      if (k != next) ++errors;
      next = k + 1;
      ++received;
      if (on_event) on_event(static_cast<std::size_t>(k), t);
      pos = done = end;
    }
    // Keep what may still hold a cut event: after the last one found, or, with none found,
    // the last pattern's length of bytes.
    const std::size_t keep_from = done ? done : (len > pat.size() ? len - pat.size() : 0);
    std::memmove(buf.data(), buf.data() + keep_from, len - keep_from);
    len -= keep_from;
  }
};

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

int fanout(const config& c) {
  asio::io_context ioc;
  const auto ep = tcp::resolver(ioc).resolve(c.host, c.port);
  const std::string prefix = "f" + std::to_string(now_us()) + "-";
  const std::size_t total = c.rate
                                ? static_cast<std::size_t>(static_cast<double>(c.rate) * c.seconds)
                                : 0;  // rate 0: counted below
  std::vector<std::atomic<std::int64_t>> acked(total ? total / c.batch + 1 : 1 << 22);
  std::vector<std::int64_t> latencies;  // io thread only, sampled
  // Room for every sample up front: growing a vector of millions inside the io thread copied
  // it while no stream was read, a stall the latencies then measured as the server's.
  const std::size_t every_event = (c.subscribers + 9) / 10;  // subscribers i % 10 == 0
  latencies.reserve(every_event * total + (c.subscribers - every_event) * (total / 10 + 1));
  std::vector<std::shared_ptr<subscriber>> subs;
  for (std::size_t i = 0; i < c.subscribers; ++i) {
    auto s = std::make_shared<subscriber>(ioc, prefix);
    s->on_event = [&, i](std::size_t k, std::int64_t at) {
      if (i % 10 != 0 && k % 10 != 0) return;  // a sample keeps memory flat
      const auto a = acked[k / c.batch].load(std::memory_order_acquire);
      latencies.push_back(a ? std::max<std::int64_t>(0, at - a) : 0);
    };
    s->start(ep, "/subscribe?topic=fan.out");
    subs.push_back(s);
  }
  client pub(c);
  // Wait until every stream is open (it counts in /stats).
  for (int i = 0; i < 500; ++i) {
    ioc.poll();
    const auto body = pub.request(http::verb::get, "/stats").body();
    const auto at = body.find("\"subscribers\":");
    if (at != std::string::npos && std::stoul(body.substr(at + 14)) >= c.subscribers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const long rss_before = rss_kib(c.server_pid);
  std::thread io([&] {
    auto guard = asio::make_work_guard(ioc);
    ioc.run();
  });
  const auto t0 = clock_type::now();
  std::size_t sent = 0, batches = 0;
  const auto deadline = t0 + std::chrono::duration<double>(c.seconds);
  while (clock_type::now() < deadline && batches < acked.size()) {
    if (c.rate) {
      const auto due = t0 + std::chrono::duration<double>(static_cast<double>(sent) /
                                                          static_cast<double>(c.rate));
      std::this_thread::sleep_until(due);
    }
    pub.request(http::verb::post, "/publish", batch_body(sent, c.batch, prefix));
    acked[batches].store(now_us(), std::memory_order_release);
    sent += c.batch;
    ++batches;
  }
  const double publish_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  // Let the streams catch up (at most 10 s).
  const auto wait_end = clock_type::now() + std::chrono::seconds(10);
  auto delivered = [&] {
    std::size_t n = 0;
    for (const auto& s : subs) n += s->received;
    return n;
  };
  while (delivered() < sent * c.subscribers && clock_type::now() < wait_end)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double all_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const long rss_after = rss_kib(c.server_pid);
  ioc.stop();
  io.join();
  std::size_t errors = 0, got = 0;
  for (const auto& s : subs) {
    errors += s->errors;
    got += s->received;
  }
  const auto p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99);
  const auto max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  std::printf(
      "{\"mode\":\"fanout\",\"subscribers\":%zu,\"target_rate\":%zu,\"published\":%zu,"
      "\"publish_rate\":%.0f,\"deliveries\":%zu,\"expected_deliveries\":%zu,\"deliveries_per_s\":%."
      "0f,"
      "\"order_errors\":%zu,\"latency_us\":{\"p50\":%lld,\"p99\":%lld,\"max\":%lld},"
      "\"server_rss_kib\":{\"before\":%ld,\"after\":%ld}}\n",
      c.subscribers, c.rate, sent, static_cast<double>(sent) / publish_s, got, sent * c.subscribers,
      static_cast<double>(got) / all_s, errors, static_cast<long long>(p50),
      static_cast<long long>(p99), static_cast<long long>(max), rss_before, rss_after);
  return errors == 0 && got == sent * c.subscribers ? 0 : 1;
}

int idle(const config& c) {
  asio::io_context ioc;
  const auto ep = tcp::resolver(ioc).resolve(c.host, c.port);
  const long before = rss_kib(c.server_pid);
  std::vector<std::shared_ptr<subscriber>> subs;
  for (std::size_t i = 0; i < c.subscribers; ++i) {
    subs.push_back(std::make_shared<subscriber>(ioc, "none"));
    subs.back()->start(ep, "/subscribe");
  }
  client probe(c);
  std::size_t open = 0;
  for (int i = 0; i < 1000 && open < c.subscribers; ++i) {
    ioc.poll();
    const auto body = probe.request(http::verb::get, "/stats").body();
    open = std::stoul(body.substr(body.find("\"subscribers\":") + 14));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const long after = rss_kib(c.server_pid);
  std::printf(
      "{\"mode\":\"idle\",\"subscribers\":%zu,\"open\":%zu,\"server_rss_kib\":{\"before\":%ld,"
      "\"after\":%ld},\"rss_mib_added\":%.1f}\n",
      c.subscribers, open, before, after, static_cast<double>(after - before) / 1024.0);
  return open == c.subscribers ? 0 : 1;
}

int catchup(const config& c) {
  client pub(c);
  const std::string prefix = "c" + std::to_string(now_us()) + "-";
  for (std::size_t sent = 0; sent < c.events; sent += 1000)
    pub.request(http::verb::post, "/publish",
                batch_body(sent, std::min<std::size_t>(1000, c.events - sent), prefix));
  // /events paging over the same events (every stored event: this tool's are the last ones).
  auto t0 = clock_type::now();
  std::size_t paged = 0;
  std::string after = "0";
  for (;;) {
    const auto body = pub.request(http::verb::get, "/events?limit=1000&after=" + after).body();
    const auto n = std::stoul(body.substr(body.find("\"count\":") + 8));
    if (n == 0) break;
    paged += n;
    const auto na = body.find("\"next_after\":") + 13;
    after = body.substr(na, body.find(',', na) - na);
  }
  const double paging_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  asio::io_context ioc;
  auto s = std::make_shared<subscriber>(ioc, prefix);
  t0 = clock_type::now();
  s->start(tcp::resolver(ioc).resolve(c.host, c.port), "/subscribe?after=0");
  while (s->received < c.events) ioc.run_one_for(std::chrono::seconds(10));
  const double stream_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double paging_rate = static_cast<double>(paged) / paging_s;
  const double stream_rate = static_cast<double>(paged) / stream_s;  // it reads them all too
  std::printf(
      "{\"mode\":\"catchup\",\"events\":%zu,\"paging_events_per_s\":%.0f,"
      "\"stream_events_per_s\":%.0f,\"ratio\":%.2f,\"order_errors\":%zu}\n",
      paged, paging_rate, stream_rate, stream_rate / paging_rate, s->errors);
  return s->errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help") {
      std::cout << "agg-fanout --mode fanout|idle|catchup [--host H] [--port P]\n"
                   "  [--subscribers N (100)] [--rate EVENTS_PER_S (20000; 0 = unpaced)]\n"
                   "  [--batch N (100)] [--seconds S (10)] [--events N (1000000, catchup)]\n"
                   "  [--server-pid PID (for RSS)]\n";
      return 0;
    }
    if (i + 1 >= argc) agg_bench::usage_error(tool, "missing value for " + std::string(a));
    const std::string_view v = argv[++i];
    if (a == "--host")
      c.host = v;
    else if (a == "--port")
      c.port = v;
    else if (a == "--mode")
      c.mode = v;
    else if (a == "--subscribers")
      c.subscribers = agg_bench::parse_number<std::size_t>(tool, a, v);
    else if (a == "--rate")
      c.rate = agg_bench::parse_number<std::size_t>(tool, a, v);
    else if (a == "--batch")
      c.batch = agg_bench::parse_number<std::size_t>(tool, a, v);
    else if (a == "--seconds")
      c.seconds = agg_bench::parse_number<double>(tool, a, v);
    else if (a == "--events")
      c.events = agg_bench::parse_number<std::size_t>(tool, a, v);
    else if (a == "--server-pid")
      c.server_pid = agg_bench::parse_number<int>(tool, a, v);
    else
      agg_bench::usage_error(tool, "unknown option " + std::string(a));
  }
  if (c.mode == "fanout") return fanout(c);
  if (c.mode == "idle") return idle(c);
  if (c.mode == "catchup") return catchup(c);
  agg_bench::usage_error(tool, "unknown --mode " + c.mode);
}
