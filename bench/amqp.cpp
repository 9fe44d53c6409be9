// bench-amqp: the RabbitMQ side of scripts/bench-amqp. The bare client's ceiling on the same
// broker (rabbitmq-c through the bridge's own connection class: persistent publishes with
// confirms, consumes with batched acks), the set-up of the aggregator's runs (queues filled
// with publish bodies, an exchange with a bound queue), and the watch of the aggregator's
// /stats that times them. Prints one JSON object per run.
//   bench-amqp --mode bare-publish --url U --exchange X --queue Q --messages N --size B
//   bench-amqp --mode bare-consume --url U --queue Q --messages N
//   bench-amqp --mode fill --url U --queue Q --messages N --events K
//   bench-amqp --mode setup --url U --exchange X --queue Q
//   bench-amqp --mode watch --port P --field acked|fanout_seq --target N
#include "bridge/amqp_connection.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

using agg::bridge::amqp_connection;
using clock_type = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> args;

std::string arg(const std::string& k, const std::string& def = {}) {
  const auto it = args.find(k);
  if (it != args.end()) return it->second;
  if (def.empty()) throw std::runtime_error("missing --" + k);
  return def;
}

std::uint64_t num(const std::string& k, const std::string& def = {}) {
  return std::stoull(arg(k, def));
}

void must(amqp_connection& c, bool ok) {
  if (!ok) throw std::runtime_error(c.error());
}

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Publishes `n` persistent messages with confirms, at most `window` unconfirmed (as the
// fan-out does). Returns seconds.
double publish(amqp_connection& c, const std::string& exchange, const std::string& key,
               const std::function<std::string(std::uint64_t)>& body, std::uint64_t n) {
  constexpr std::uint64_t window = 8192;
  amqp_connection::publish_props p;
  p.content_type = "application/json";
  std::uint64_t sent = 0, confirmed = 0;
  amqp_connection::incoming in;
  const auto t0 = clock_type::now();
  while (confirmed < n) {
    while (sent < n && sent - confirmed < window) {
      p.seq_header = static_cast<std::int64_t>(sent + 1);
      must(c, c.publish(1, exchange, key, body(sent), p));
      ++sent;
      if (sent % 256 == 0) break;
    }
    for (auto t = std::chrono::milliseconds(sent == n || sent - confirmed >= window ? 20 : 0);;
         t = std::chrono::milliseconds(0)) {
      must(c, c.next_frame(t, in));
      if (in.what == amqp_connection::incoming::none) break;
      if (in.what == amqp_connection::incoming::confirm_nack) throw std::runtime_error("nack");
      if (in.what == amqp_connection::incoming::confirm_ack)
        confirmed = in.multiple ? in.tag : std::max(confirmed, in.tag);
    }
  }
  return since(t0);
}

std::string event_json(std::uint64_t i, std::size_t size) {
  std::string pad(size > 160 ? size - 160 : 1, 'x');
  return R"({"topic":"bench.t)" + std::to_string(i % 8) + R"(","event_id":"e-)" +
         std::to_string(i) +
         R"(","timestamp":"2026-11-24T10:15:00.123Z","source":"bench-amqp","payload":{"pad":")" +
         pad + R"("}})";
}

std::string http_get(std::uint16_t port, const std::string& path) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return {};
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  if (::write(s, req.data(), req.size()) < 0) {
    ::close(s);
    return {};
  }
  std::string out;
  char buf[16384];
  for (ssize_t n; (n = ::read(s, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(s);
  const auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : out.substr(body + 4);
}

std::int64_t bridge_field(std::uint16_t port, const std::string& field) {
  const auto body = http_get(port, "/stats");
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("bridge")) return -1;
  return v.at("bridge").at(field).to_number<std::int64_t>();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) throw std::runtime_error("expected --name value pairs");
      args[k.substr(2)] = argv[i + 1];
    }
    const std::string mode = arg("mode");
    if (mode == "watch") {
      // Timed from the first movement of the field to `target`, polled every 5 ms.
      const auto port = static_cast<std::uint16_t>(num("port"));
      const std::string field = arg("field");
      const auto target = static_cast<std::int64_t>(num("target"));
      const auto start = bridge_field(port, field);
      const auto deadline = clock_type::now() + std::chrono::seconds(num("timeout", "600"));
      auto t0 = clock_type::now();
      bool moving = false;
      std::int64_t v = start;
      while ((v = bridge_field(port, field)) < target) {
        if (!moving && v > start) {
          moving = true;
          t0 = clock_type::now();
        }
        if (clock_type::now() > deadline)
          throw std::runtime_error("watch timed out at " + std::to_string(v));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      const double s = since(t0);
      std::printf(
          "{\"mode\":\"watch\",\"field\":\"%s\",\"from\":%lld,\"to\":%lld,\"seconds\":%.4f}\n",
          field.c_str(), static_cast<long long>(start), static_cast<long long>(v), s);
      return 0;
    }
    amqp_connection c;
    must(c, c.open(arg("url"), std::chrono::milliseconds(10000)));
    must(c, c.open_channel(1));
    if (mode == "setup") {
      must(c, c.ensure_exchange(1, arg("exchange")));
      must(c, c.ensure_queue(1, arg("queue")));
      must(c, c.bind_queue(1, arg("queue"), arg("exchange"), "#"));
      std::printf("{\"mode\":\"setup\"}\n");
    } else if (mode == "bare-publish") {
      must(c, c.ensure_exchange(1, arg("exchange")));
      must(c, c.ensure_queue(1, arg("queue")));
      must(c, c.bind_queue(1, arg("queue"), arg("exchange"), "#"));
      must(c, c.confirm_select(1));
      const auto n = num("messages");
      const auto size = num("size", "250");
      const double s = publish(
          c, arg("exchange"), "bench.t", [size](std::uint64_t i) { return event_json(i, size); },
          n);
      std::printf("{\"mode\":\"bare-publish\",\"messages\":%llu,\"seconds\":%.4f,\"rate\":%.1f}\n",
                  static_cast<unsigned long long>(n), s, static_cast<double>(n) / s);
    } else if (mode == "fill") {
      must(c, c.ensure_queue(1, arg("queue")));
      must(c, c.confirm_select(1));
      const auto n = num("messages");
      const auto k = num("events");
      const auto first = num("first", "0");
      const double s = publish(
          c, "", arg("queue"),
          [k, first](std::uint64_t m) {
            std::string b = "[";
            for (std::uint64_t e = 0; e < k; ++e) {
              if (e) b += ",";
              b += event_json(first + m * k + e, 250);
            }
            return b + "]";
          },
          n);
      std::printf("{\"mode\":\"fill\",\"messages\":%llu,\"events\":%llu,\"seconds\":%.4f}\n",
                  static_cast<unsigned long long>(n), static_cast<unsigned long long>(n * k), s);
    } else if (mode == "bare-consume") {
      // As the intake: prefetch 256, one `multiple` ack per 64 messages.
      const auto n = num("messages");
      must(c, c.qos(1, 256));
      must(c, c.consume(1, arg("queue")));
      amqp_connection::incoming in;
      std::uint64_t got = 0, bytes = 0, last = 0;
      const auto t0 = clock_type::now();
      while (got < n) {
        must(c, c.next_delivery(std::chrono::milliseconds(1000), in));
        if (in.what != amqp_connection::incoming::message) continue;
        ++got;
        bytes += in.msg.body.size();
        last = in.msg.tag;
        if (got % 64 == 0) must(c, c.ack(1, last, true));
      }
      must(c, c.ack(1, last, true));
      const double s = since(t0);
      std::printf(
          "{\"mode\":\"bare-consume\",\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.4f,\"rate\":%."
          "1f}\n",
          static_cast<unsigned long long>(n), static_cast<unsigned long long>(bytes), s,
          static_cast<double>(n) / s);
    } else {
      throw std::runtime_error("unknown --mode " + mode);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-amqp: %s\n", e.what());
    return 1;
  }
}
