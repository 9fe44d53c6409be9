#pragma once

// A throw-away RabbitMQ broker for tests: Debian's rabbitmq-server with its own node name,
// AMQP port, Erlang distribution port and epmd port (all free ports on 127.0.0.1), its
// database and logs in a fresh temporary folder, no plugins. Started once per test
// executable (it takes 10-25 s on a loaded 2-core machine); tests use fresh queues and
// exchanges. Always stopped by the destructor (the node's process group, then its epmd).
// The broker refuses nothing as root, but its files and cookie are kept away from the
// system's: as root it runs as the unprivileged user `aggtest`, as tests/pg does PostgreSQL.

#include "child_process.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace agg::test {

class rabbitmq_server {
 public:
  // Starts and waits until a client can log in; throws std::runtime_error with the log.
  rabbitmq_server();
  ~rabbitmq_server();
  rabbitmq_server(const rabbitmq_server&) = delete;
  rabbitmq_server& operator=(const rabbitmq_server&) = delete;

  void start();
  void stop();

  std::uint16_t port() const { return port_; }
  // amqp://guest:guest@127.0.0.1:<port>/
  std::string url() const;
  std::string url_for_port(std::uint16_t port) const;
  std::string log() const;

 private:
  std::filesystem::path dir_;
  std::string node_;
  run_as who_;  // the broker's user: aggtest when the tests run as root
  std::uint16_t port_ = 0, dist_port_ = 0, epmd_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace agg::test
