#pragma once

// The aggregator binary as a child process, for black-box tests.
//
// A server_process owns a fresh temporary folder, starts AGG_BINARY with
// `--host 127.0.0.1 --port 0 --db <dir>/events.db` plus the configured flags, waits
// for the `listening host=127.0.0.1 port=<p>` line on its standard error and keeps
// draining standard error into a buffer that tests can search (duplicate log lines,
// warnings). It can be stopped with SIGTERM or SIGKILL and started again on the same
// database. The destructor never leaves a child behind (SIGKILL + wait), and the child
// is also killed by the kernel if the test process dies (PR_SET_PDEATHSIG).
//
// Container mode: when AGG_TEST_LAUNCHER names an executable (scripts/test-docker sets it to
// tests/http/docker_launcher.sh), the service runs through it instead of AGG_BINARY:
//   <launcher> run <instance> <dir> --host 127.0.0.1 --port 0 --db <dir>/events.db <flags>
// must run the service in the foreground with that folder at the same path, print its
// standard error, keep the AGG_* variables it is given (inherited AGG_TEST_* ones are
// passed on too, for the launcher itself) and end the way the service ended (exit code, or
// killed by the same signal);
//   <launcher> signal <instance> <signal number>
// delivers a signal to that service (SIGKILL included, which no wrapper could forward).
// Every start() is a new instance name. The tests then drive the service in the container
// exactly as the local binary: restarts, SIGTERM and kill -9 included.
//
// Thread use: start/stop/restart from one thread (the one that constructed the object:
// PR_SET_PDEATHSIG is tied to the forking thread). The log accessors are thread-safe.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace agg::test {

// How a child process ended.
struct process_exit {
  bool exited = false;     // true: normal exit, `code` is valid
  int code = -1;           // exit code when `exited`
  int signal = 0;          // terminating signal when !exited
  bool timed_out = false;  // it did not end in time and was killed with SIGKILL

  bool clean() const { return exited && code == 0 && !timed_out; }
  std::string describe() const;
};
std::ostream& operator<<(std::ostream& os, process_exit const& e);

// A folder created with mkdtemp and removed (recursively) by the destructor, unless the
// environment variable AGG_TEST_KEEP_TMP is set (to inspect a failed run).
class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix = "agg-http-");
  ~temp_dir();
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;

  std::filesystem::path const& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct server_config {
  // Flags appended after --host/--port/--db, e.g. {"--max-body", "1000"}.
  std::vector<std::string> args{};
  // Variables added to the child's environment. Inherited AGG_* variables are
  // removed first so that the developer's shell cannot change a test.
  std::vector<std::pair<std::string, std::string>> env{};
  // How long to wait for the `listening` line.
  std::chrono::milliseconds start_timeout{15000};
  // How long terminate() waits for the exit after SIGTERM before using SIGKILL.
  std::chrono::milliseconds stop_timeout{30000};
  // --db instead of <dir>/events.db, e.g. a postgresql:// URI shared by several servers.
  std::string db{};
  // Path of the binary; defaults to AGG_BINARY from the build.
  std::string binary{};
  // The launcher of container mode (see above); defaults to $AGG_TEST_LAUNCHER, empty = none.
  std::string launcher{};
};

class server_process {
 public:
  // Creates the temp folder and starts the server (throws std::runtime_error with the
  // captured log when it does not come up in time).
  explicit server_process(server_config config = {});
  ~server_process();

  // Where a server whose config names no --db stores: by default a SQLite file in its temp
  // folder; after this, a fresh store from `provider` (called once per server_process, from
  // its constructor), e.g. a new PostgreSQL database, so the same suites run on either store.
  static void set_store_provider(std::function<std::string()> provider);
  server_process(server_process const&) = delete;
  server_process& operator=(server_process const&) = delete;

  // Starts the binary on the same folder/db. Throws when already running.
  void start();
  // SIGTERM, then wait up to stop_timeout (then SIGKILL, timed_out = true).
  process_exit terminate();
  // SIGKILL, then wait.
  process_exit kill9();
  // Sends `sig` without waiting.
  void send_signal(int sig);
  // Waits for the child to end; SIGKILL after `timeout`.
  process_exit wait(std::chrono::milliseconds timeout);
  // terminate() when running (the exit status is kept in last_exit()), then start().
  void restart();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string const& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  std::filesystem::path const& dir() const { return dir_.path(); }
  std::filesystem::path db_path() const { return dir_.path() / "events.db"; }
  process_exit const& last_exit() const { return last_exit_; }
  server_config const& config() const { return config_; }

  // Standard error of the current (or last) run, and of every run so far.
  std::string log() const;
  std::string all_logs() const;
  // Lines of the current run for which `pred` holds.
  std::vector<std::string> log_lines(std::function<bool(std::string_view)> const& pred) const;
  // Waits until the current run's log has at least `count` lines matching `pred`.
  bool wait_for_log_lines(std::function<bool(std::string_view)> const& pred, std::size_t count,
                          std::chrono::milliseconds timeout) const;
  // Waits until the current run's log contains `needle`.
  bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const;

 private:
  void reader_loop(int fd);
  // Sends `sig` to the service: kill(2), or through the launcher in container mode.
  void deliver(int sig);
  void join_reader();
  process_exit reap(std::chrono::milliseconds timeout);

  server_config config_;
  temp_dir dir_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string instance_;  // container mode: the current run's instance name
  process_exit last_exit_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string log_;          // guarded by mu_: current run
  std::string old_logs_;     // guarded by mu_: previous runs
  bool reader_eof_ = false;  // guarded by mu_
  std::thread reader_;
};

}  // namespace agg::test
