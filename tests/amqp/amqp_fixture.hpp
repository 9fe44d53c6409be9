#pragma once

// The suite's one broker, and a small AMQP client for the tests on the bridge's own
// connection class (rabbitmq-c).

#include "bridge/amqp_connection.hpp"
#include "rabbitmq_server.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace agg::test {

// Boost.Test global fixture: the broker starts once per executable (10-25 s) and is stopped
// at the end whatever happened.
struct broker_fixture {
  broker_fixture() { instance() = std::make_unique<rabbitmq_server>(); }
  ~broker_fixture() { instance().reset(); }
  static std::unique_ptr<rabbitmq_server>& instance() {
    static std::unique_ptr<rabbitmq_server> b;
    return b;
  }
};

inline rabbitmq_server& broker() {
  return *broker_fixture::instance();
}

// Names no earlier case (or run) used.
inline std::string fresh_name(const std::string& stem) {
  static std::atomic<int> n{0};
  return "agg-test-" + stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// The test side of the broker: declares, publishes to queues, consumes with acks.
class amqp_client {
 public:
  amqp_client() {
    if (!c_.open(broker().url(), std::chrono::milliseconds(5000)) || !c_.open_channel(1))
      throw std::runtime_error("amqp_client: " + c_.error());
  }
  bridge::amqp_connection& conn() { return c_; }

  void queue(const std::string& name,
             const std::vector<bridge::amqp_connection::argument>& a = {}) {
    must(c_.ensure_queue(1, name, a));
  }
  void exchange(const std::string& name, const char* type = "topic") {
    must(c_.ensure_exchange(1, name, type));
  }
  void bind(const std::string& q, const std::string& x, const std::string& key) {
    must(c_.bind_queue(1, q, x, key));
  }
  // A topic exchange and a queue that receives everything published to it (key "#").
  void exchange_into_queue(const std::string& x, const std::string& q) {
    exchange(x);
    queue(q);
    bind(q, x, "#");
  }
  void send(const std::string& queue, const std::string& body,
            std::optional<std::string_view> type = "application/json") {
    bridge::amqp_connection::publish_props p;
    p.content_type = type;
    must(c_.publish(1, "", queue, body, p));
  }
  std::uint32_t depth(const std::string& queue) {
    auto d = c_.queue_depth(1, queue);
    if (!d) throw std::runtime_error("amqp_client: " + c_.error());
    return *d;
  }
  // Consumes `queue` (channel 2) until `enough` holds for what was received or `timeout`
  // passes; acks everything taken.
  std::vector<bridge::amqp_connection::delivery> take(
      const std::string& queue,
      const std::function<bool(const std::vector<bridge::amqp_connection::delivery>&)>& enough,
      std::chrono::milliseconds timeout) {
    if (!consuming_) {
      must(c_.open_channel(2));
      must(c_.qos(2, 1000));
      must(c_.consume(2, queue));
      consuming_ = true;
    }
    std::vector<bridge::amqp_connection::delivery> got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bridge::amqp_connection::incoming in;
    while (!enough(got) && std::chrono::steady_clock::now() < deadline) {
      must(c_.next_delivery(std::chrono::milliseconds(50), in));
      if (in.what != bridge::amqp_connection::incoming::message) {
        if (unacked_) must(c_.ack(2, last_tag_, true));
        unacked_ = 0;
        continue;
      }
      last_tag_ = in.msg.tag;
      // One `multiple` ack per 200 messages: acking each one costs the broker dearly.
      if (++unacked_ == 200) {
        must(c_.ack(2, last_tag_, true));
        unacked_ = 0;
      }
      got.push_back(std::move(in.msg));
    }
    if (unacked_) must(c_.ack(2, last_tag_, true));
    unacked_ = 0;
    return got;
  }

 private:
  void must(bool ok) {
    if (!ok) throw std::runtime_error("amqp_client: " + c_.error());
  }
  bridge::amqp_connection c_;
  bool consuming_ = false;
  std::uint64_t last_tag_ = 0;
  std::uint32_t unacked_ = 0;
};

// Polls `pred` every 20 ms until it holds or `timeout` passes; returns its last value.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace agg::test
