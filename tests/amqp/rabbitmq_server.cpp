#include "rabbitmq_server.hpp"

#include "child_process.hpp"

#include "bridge/amqp_connection.hpp"

#include <signal.h>
#include <sys/stat.h>
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

constexpr const char* server_script = "/usr/lib/rabbitmq/bin/rabbitmq-server";

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  if (!out) throw std::runtime_error("rabbitmq_server: cannot write " + p.string());
}

}  // namespace

rabbitmq_server::rabbitmq_server() {
  if (!std::filesystem::exists(server_script))
    throw std::runtime_error(std::string("rabbitmq_server: no ") + server_script +
                             " (install Debian's rabbitmq-server, as scripts/lib.sh does)");
  who_ = unprivileged_when_root();
  dir_ = make_owned_temp_dir("agg-rmq-", who_);
  port_ = free_port();
  dist_port_ = free_port();
  epmd_port_ = free_port();
  node_ = "aggtest" + std::to_string(port_) + "@localhost";
  write_file(dir_ / "rabbitmq.conf", "listeners.tcp.default = 127.0.0.1:" + std::to_string(port_) +
                                         "\nloopback_users = none\n");
  write_file(dir_ / "enabled_plugins", "[].\n");
  if (who_.drop)
    for (const auto* f : {"rabbitmq.conf", "enabled_plugins"})
      if (::chown((dir_ / f).c_str(), who_.uid, who_.gid) != 0)
        throw std::runtime_error("rabbitmq_server: cannot chown " + dir_.string());
  start();
}

rabbitmq_server::~rabbitmq_server() {
  stop();
  std::error_code ec;
  if (!std::getenv("AGG_TEST_KEEP_TMP")) std::filesystem::remove_all(dir_, ec);
}

std::string rabbitmq_server::url() const {
  return url_for_port(port_);
}

std::string rabbitmq_server::url_for_port(std::uint16_t port) const {
  return "amqp://guest:guest@127.0.0.1:" + std::to_string(port) + "/";
}

void rabbitmq_server::start() {
  if (pid_ > 0) return;
  const std::string d = dir_.string();
  std::vector<std::string> env = {
      "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
      "HOME=" + d,  // the Erlang cookie lives here
      "LANG=C.UTF-8",
      "RABBITMQ_NODENAME=" + node_,
      "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
      "RABBITMQ_NODE_PORT=" + std::to_string(port_),
      "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_),
      "ERL_EPMD_PORT=" + std::to_string(epmd_port_),
      "ERL_EPMD_ADDRESS=127.0.0.1",
      "RABBITMQ_MNESIA_BASE=" + d + "/mnesia",
      "RABBITMQ_LOG_BASE=" + d + "/log",
      "RABBITMQ_CONFIG_FILE=" + d + "/rabbitmq",
      "RABBITMQ_ADVANCED_CONFIG_FILE=" + d + "/advanced.config",
      "RABBITMQ_CONF_ENV_FILE=" + d + "/rabbitmq-env.conf",
      "RABBITMQ_ENABLED_PLUGINS_FILE=" + d + "/enabled_plugins",
      "RABBITMQ_PID_FILE=" + d + "/rabbitmq.pid",
  };
  // Its own session: stop() ends the script, beam and helpers together (-pid).
  const pid_t child = spawn_logged({server_script}, d + "/server.out", who_,
                                   {.env = &env, .own_session = true, .cwd = d});
  pid_ = child;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    bridge::amqp_connection c;
    if (c.open(url(), std::chrono::milliseconds(2000))) break;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("rabbitmq_server: the broker exited:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("rabbitmq_server: the broker did not start:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void rabbitmq_server::stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid_, SIGKILL);  // whatever of the group is left
  ::waitpid(pid_, &status, WNOHANG);
  pid_ = -1;
  // epmd detached itself from the group: ask it to go.
  const std::string cmd =
      "ERL_EPMD_PORT=" + std::to_string(epmd_port_) + " /usr/bin/epmd -kill >/dev/null 2>&1";
  std::system(cmd.c_str());
}

std::string rabbitmq_server::log() const {
  std::stringstream ss;
  for (const auto* f : {"server.out"}) {
    std::ifstream in(dir_ / f);
    ss << in.rdbuf();
  }
  std::ifstream in(dir_ / "log" / (node_ + ".log"));
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > 8000) s = "...\n" + s.substr(s.size() - 8000);
  return s;
}

}  // namespace agg::test
