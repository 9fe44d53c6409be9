#pragma once

// A TCP relay on 127.0.0.1 between the aggregator and the broker, to make the broker vanish
// and come back in a fraction of a second (a real broker restart costs 10-25 s here):
// stop() closes the listener and every relayed connection at once, as a broker that died;
// start() listens again on the same port. hold_replies(true) stops relaying what the broker
// sends (confirms included) while still relaying what the client sends.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace agg::test {

class tcp_proxy {
 public:
  explicit tcp_proxy(std::uint16_t target_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  void start();
  void stop();
  void hold_replies(bool hold) { hold_.store(hold); }
  std::uint16_t port() const { return port_; }

 private:
  void run();

  const std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> hold_{false};
  std::thread thread_;
};

}  // namespace agg::test
