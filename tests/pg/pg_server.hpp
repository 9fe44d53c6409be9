#pragma once

// A throw-away PostgreSQL 15 server for tests: initdb in a fresh temporary folder, postgres
// on a free 127.0.0.1 port (and a Unix socket in that folder), always stopped and removed by
// the destructor. PostgreSQL refuses to run as root, and CI runs as root: then the server
// runs as the unprivileged user `aggtest` (created with useradd if missing), which owns
// the folder. The binaries come from /usr/lib/postgresql/15/bin (Debian's postgresql-15),
// or from $AGG_PG_BIN.
//
// Thread use: from the thread that constructed it (the server dies with that thread's
// process through PR_SET_PDEATHSIG).

#include "child_process.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace agg::test {

class pg_server {
 public:
  // initdb and start; throws std::runtime_error with the server's log when it fails.
  pg_server();
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  // Starts the server again on the same folder and port (after stop()).
  void start();
  // Fast shutdown (SIGINT): every connection is closed; waits for the exit.
  void stop();
  bool running() const { return pid_ > 0; }

  // A new, empty database; returns its URI (postgresql://postgres@127.0.0.1:<port>/<name>).
  std::string create_database(const std::string& name);
  // Runs one SQL statement in `database` through libpq; returns the first column of the first
  // row ("" when none). Throws on failure.
  std::string query(const std::string& database, const std::string& sql);

  std::uint16_t port() const { return port_; }
  std::string uri(const std::string& database) const;
  std::string log() const;

 private:
  // Runs a binary of the server (as the unprivileged user when root) and waits; true on exit 0.
  bool run(const std::vector<std::string>& args);
  pid_t spawn(const std::vector<std::string>& args, bool wait_for_exit, int* status);

  std::filesystem::path dir_;
  std::filesystem::path bin_;
  run_as who_;  // the server's user: aggtest when the tests run as root
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace agg::test
