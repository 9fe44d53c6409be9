#include "pg_server.hpp"

#include <libpq-fe.h>

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
namespace {

constexpr const char* test_user = "aggtest";

std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("pg_server: no free port");
  ::close(s);
  return ntohs(a.sin_port);
}

}  // namespace

pg_server::pg_server() {
  const char* bin = std::getenv("AGG_PG_BIN");
  bin_ = bin ? bin : "/usr/lib/postgresql/15/bin";
  if (!std::filesystem::exists(bin_ / "postgres"))
    throw std::runtime_error("pg_server: no " + (bin_ / "postgres").string() +
                             " (install Debian's postgresql-15, as scripts/lib.sh does)");
  if (::geteuid() == 0) {
    passwd* pw = ::getpwnam(test_user);
    if (!pw) {
      std::system("useradd --system --no-create-home --shell /usr/sbin/nologin aggtest");
      pw = ::getpwnam(test_user);
    }
    if (!pw) throw std::runtime_error("pg_server: cannot create the user aggtest");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    drop_ = true;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "agg-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("pg_server: mkdtemp failed");
  dir_ = tmpl;
  if (drop_ && ::chown(dir_.c_str(), uid_, gid_) != 0)
    throw std::runtime_error("pg_server: cannot chown " + dir_.string());
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
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path = (dir_ / "server.log").string();
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("pg_server: fork failed");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(126);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0)
      _exit(126);
    if (drop_ && (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0))
      _exit(126);
    if (::close_range(3, ~0U, 0) != 0)
      for (int f = 3; f < 4096; ++f) ::close(f);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  if (wait_for_exit) {
    while (::waitpid(child, status, 0) < 0 && errno == EINTR) {
    }
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
