#pragma once

// Starting throw-away servers (PostgreSQL, RabbitMQ) for tests: a free loopback port, the
// unprivileged user they run as when the tests run as root (CI does; both servers refuse or
// should not run as root), and a child process with its output in a log file that dies with
// the test process.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace agg::test {

// A port of 127.0.0.1 that was free a moment ago (bound, read and closed).
std::uint16_t free_port();

// Who a child runs as: `drop` false keeps the caller's uid.
struct run_as {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// As root: the system user `aggtest` (created with useradd if missing); else nobody is changed.
// Throws std::runtime_error when the user cannot be created.
run_as unprivileged_when_root();

// A fresh folder from mkdtemp under the temp directory ("<prefix>XXXXXX"), mode 0755 and owned
// by `who` when it drops privileges. Throws std::runtime_error.
std::filesystem::path make_owned_temp_dir(const std::string& prefix, const run_as& who);

struct spawn_options {
  const std::vector<std::string>* env = nullptr;  // the child's whole environment; null: ours
  bool own_session = false;  // setsid(): a process group to signal as a whole (-pid)
  std::string cwd;           // empty: ours
};

// fork + exec of argv[0] (a path) as `who`, standard input from /dev/null, standard output and
// error appended to `log_path`, every other descriptor closed; the child gets SIGKILL when the
// test process dies (PR_SET_PDEATHSIG). Returns its pid. Throws std::runtime_error.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const run_as& who, const spawn_options& o = {});

// Runs `command` through /bin/sh and waits: its exit code (-1 when it did not exit) and
// everything it wrote to standard output (the command redirects standard error as it needs).
std::pair<int, std::string> run_captured(const std::string& command);

}  // namespace agg::test
