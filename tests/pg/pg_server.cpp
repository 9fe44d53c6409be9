#include "pg_server.hpp"

#include "child_process.hpp"

#include <libpq-fe.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace agg::test {

pg_server::pg_server() {
  const char* bin = std::getenv("AGG_PG_BIN");
  bin_ = bin ? bin : "/usr/lib/postgresql/15/bin";
  if (!std::filesystem::exists(bin_ / "postgres"))
    throw std::runtime_error("pg_server: no " + (bin_ / "postgres").string() +
                             " (install Debian's postgresql-15, as scripts/lib.sh does)");
  who_ = unprivileged_when_root();
  dir_ = make_owned_temp_dir("agg-pg-", who_);
  port_ = free_port();
  // --no-sync: a test server needs no durability against power loss; trust: local only.
  if (!run({(bin_ / "initdb").string(), "-D", (dir_ / "data").string(), "-U", "postgres", "-A",
            "trust", "-E", "UTF8", "--locale=C", "--no-sync"}))
    throw std::runtime_error("pg_server: initdb failed:\n" + log());
  start();
}

pg_server::~pg_server() {
  stop();
  std::error_code ec;
  if (!std::getenv("AGG_TEST_KEEP_TMP")) std::filesystem::remove_all(dir_, ec);
}

pid_t pg_server::spawn(const std::vector<std::string>& args, bool wait_for_exit, int* status) {
  const pid_t child = spawn_logged(args, (dir_ / "server.log").string(), who_);
  if (wait_for_exit)
    while (::waitpid(child, status, 0) < 0 && errno == EINTR) {
    }
  return child;
}

bool pg_server::run(const std::vector<std::string>& args) {
  int status = 0;
  spawn(args, true, &status);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void pg_server::start() {
  if (pid_ > 0) return;
  // Small settings: several of these run at once on a 2-core machine.
  pid_ = spawn(
      {(bin_ / "postgres").string(), "-D", (dir_ / "data").string(), "-p", std::to_string(port_),
       "-k", dir_.string(), "-c", "listen_addresses=127.0.0.1", "-c", "shared_buffers=16MB", "-c",
       "max_connections=60", "-c", "fsync=off", "-c", "full_page_writes=off"},
      false, nullptr);
  const std::string conninfo = uri("postgres");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("pg_server: postgres exited:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("pg_server: postgres did not start:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void pg_server::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // fast shutdown
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string pg_server::uri(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string pg_server::query(const std::string& database, const std::string& sql) {
  PGconn* c = PQconnectdb(uri(database).c_str());
  std::string error;
  std::string value;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      error = PQresultErrorMessage(r);
    else if (PQntuples(r) > 0 && PQnfields(r) > 0)
      value = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  PQfinish(c);
  if (!error.empty()) throw std::runtime_error("pg_server: " + sql + ": " + error);
  return value;
}

std::string pg_server::create_database(const std::string& name) {
  query("postgres", "CREATE DATABASE " + name);
  return uri(name);
}

std::string pg_server::log() const {
  std::ifstream in(dir_ / "server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace agg::test
