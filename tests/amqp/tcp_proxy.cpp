#include "tcp_proxy.hpp"

#include "rabbitmq_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace agg::test {
namespace {

int connect_to(std::uint16_t port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return -1;
  }
  int one = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

// Copies what is readable from `from` to `to`; false when either side is done.
bool relay(int from, int to) {
  char buf[65536];
  const ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

tcp_proxy::tcp_proxy(std::uint16_t target_port) : target_(target_port), port_(free_port()) {}

tcp_proxy::~tcp_proxy() {
  stop();
}

void tcp_proxy::start() {
  if (thread_.joinable()) return;
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port_);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_, 16) != 0)
    throw std::runtime_error("tcp_proxy: cannot listen on port " + std::to_string(port_));
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void tcp_proxy::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
}

void tcp_proxy::run() {
  struct pair {
    int client, broker;
  };
  std::vector<pair> pairs;
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back({listener_, POLLIN, 0});
    for (const auto& p : pairs) {
      fds.push_back({p.client, POLLIN, 0});
      // Held: the broker's bytes stay in the kernel's buffers, unread.
      fds.push_back({p.broker, static_cast<short>(hold_ ? 0 : POLLIN), 0});
    }
    if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
    std::vector<pair> alive;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const auto& cf = fds[1 + 2 * i];
      const auto& bf = fds[2 + 2 * i];
      bool ok = true;
      if (cf.revents & (POLLIN | POLLHUP | POLLERR)) ok = relay(pairs[i].client, pairs[i].broker);
      if (ok && (bf.revents & (POLLIN | POLLHUP | POLLERR)))
        ok = relay(pairs[i].broker, pairs[i].client);
      if (ok) {
        alive.push_back(pairs[i]);
      } else {
        ::close(pairs[i].client);
        ::close(pairs[i].broker);
      }
    }
    pairs.swap(alive);
    // Accepted last: `fds` describes only the pairs that were there when poll() began.
    if (fds[0].revents & POLLIN) {
      const int c = ::accept(listener_, nullptr, nullptr);
      if (c >= 0) {
        const int b = connect_to(target_);
        if (b < 0)
          ::close(c);
        else
          pairs.push_back({c, b});
      }
    }
  }
  // As a broker that died: every connection ends at once (RST, not a polite FIN).
  for (const auto& p : pairs) {
    linger l{1, 0};
    ::setsockopt(p.client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(p.client);
    ::close(p.broker);
  }
  ::close(listener_);
  listener_ = -1;
}

}  // namespace agg::test
