#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>

#ifndef AGG_BINARY
#define AGG_BINARY "aggregator"
#endif

extern char** environ;

namespace agg::test {

namespace {

[[noreturn]] void throw_errno(std::string const& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string tail(std::string const& s, std::size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

}  // namespace

std::string process_exit::describe() const {
  std::ostringstream os;
  if (exited)
    os << "exit code " << code;
  else if (signal != 0)
    os << "killed by signal " << signal << " (" << strsignal(signal) << ")";
  else
    os << "not ended";
  if (timed_out) os << " after a stop timeout";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, process_exit const& e) {
  return os << e.describe();
}

// ---------------------------------------------------------------------------------------

temp_dir::temp_dir(std::string_view prefix) {
  auto pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  path_ = buf.data();
}

temp_dir::~temp_dir() {
  if (std::getenv("AGG_TEST_KEEP_TMP") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// ---------------------------------------------------------------------------------------

namespace {
std::function<std::string()>& store_provider() {
  static std::function<std::string()> p;
  return p;
}
}  // namespace

void server_process::set_store_provider(std::function<std::string()> provider) {
  store_provider() = std::move(provider);
}

server_process::server_process(server_config config) : config_(std::move(config)) {
  if (config_.binary.empty()) config_.binary = AGG_BINARY;
  if (config_.db.empty() && store_provider()) config_.db = store_provider()();
  if (char const* l = std::getenv("AGG_TEST_LAUNCHER"); config_.launcher.empty() && l != nullptr)
    config_.launcher = l;
  start();
}

server_process::~server_process() {
  if (pid_ > 0) {
    deliver(SIGKILL);
    reap(std::chrono::seconds(10));
  }
  join_reader();
}

void server_process::deliver(int sig) {
  if (pid_ <= 0) return;
  if (config_.launcher.empty()) {
    ::kill(pid_, sig);
    return;
  }
  // `<launcher> signal <instance> <sig>`, waited for: when it returns, the signal is sent.
  std::string const number = std::to_string(sig);
  char const* argv[] = {config_.launcher.c_str(), "signal", instance_.c_str(), number.c_str(),
                        nullptr};
  pid_t const child = ::fork();
  if (child == 0) {
    ::execv(argv[0], const_cast<char* const*>(argv));
    _exit(127);
  }
  if (child > 0) {
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void server_process::start() {
  if (pid_ > 0) throw std::logic_error("server_process::start: already running");
  join_reader();
  {
    std::lock_guard lock(mu_);
    old_logs_ += log_;
    log_.clear();
    reader_eof_ = false;
  }
  port_ = 0;

  // Everything the child needs is built before fork(): after it only async-signal-safe
  // calls are allowed (other threads of this process may hold malloc's lock).
  bool const contained = !config_.launcher.empty();
  std::vector<std::string> args{config_.binary};
  if (contained) {
    // A new name for every start, unique across the processes of a test run.
    static std::atomic<unsigned> instances{0};
    instance_ = "agg-test-" + std::to_string(::getpid()) + "-" + std::to_string(++instances);
    args = {config_.launcher, "run", instance_, dir().string()};
  }
  args.insert(args.end(), {"--host", host_, "--port", "0", "--db",
                           config_.db.empty() ? db_path().string() : config_.db});
  args.insert(args.end(), config_.args.begin(), config_.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    bool const for_launcher = contained && std::strncmp(*e, "AGG_TEST_", 9) == 0;
    if (std::strncmp(*e, "AGG_", 4) == 0 && !for_launcher) continue;
    env_strings.emplace_back(*e);
  }
  for (auto const& [k, v] : config_.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw_errno("open /dev/null");
  }

  pid_t const parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::close(devnull);
    throw_errno("fork");
  }
  if (child == 0) {
    // Child: die with the test process, fresh signal state, stdin/stdout to /dev/null,
    // stderr to the pipe, no other inherited descriptors (sockets of other tests).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(126);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD}) ::sigaction(s, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(devnull, 0) < 0 || ::dup2(devnull, 1) < 0 || ::dup2(pipe_fds[1], 2) < 0) _exit(126);
    if (::close_range(3, ~0U, 0) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }

  ::close(pipe_fds[1]);
  ::close(devnull);
  pid_ = child;
  reader_ = std::thread([this, fd = pipe_fds[0]] { reader_loop(fd); });

  // Wait for the complete `listening ... port=<p>` line (or its --log-format json form).
  static std::regex const listening_re(
      R"re(listening host=(\S+) port=(\d+)[^\n]*\n|"msg":"listening","host":"([^"]+)","port":"(\d+)"[^\n]*\n)re");
  std::unique_lock lock(mu_);
  std::string seen_host, seen_port;
  bool const ok = cv_.wait_for(lock, config_.start_timeout, [&] {
    std::smatch m;
    if (std::regex_search(log_, m, listening_re)) {
      const std::size_t h = m[1].matched ? 1 : 3;
      seen_host = m[h].str();
      seen_port = m[h + 1].str();
      return true;
    }
    return reader_eof_;
  });
  std::string const captured = log_;
  lock.unlock();
  bool const found = ok && !seen_port.empty();
  if (!found || seen_host != host_) {
    auto status = kill9();
    throw std::runtime_error(
        "aggregator did not report `listening host=" + host_ + " port=<p>` (" +
        (found ? "wrong host " + seen_host : std::string(ok ? "stderr closed" : "timeout")) + ", " +
        status.describe() + "); command: " + args.front() + "; stderr:\n" + tail(captured, 4000));
  }
  port_ = static_cast<std::uint16_t>(std::stoul(seen_port));
}

void server_process::reader_loop(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mu_);
    log_.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  reader_eof_ = true;
  cv_.notify_all();
}

void server_process::join_reader() {
  if (reader_.joinable()) reader_.join();
}

process_exit server_process::reap(std::chrono::milliseconds timeout) {
  process_exit result;
  if (pid_ <= 0) return last_exit_;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 && errno != EINTR) throw_errno("waitpid");
    if (std::chrono::steady_clock::now() >= deadline && !result.timed_out) {
      result.timed_out = true;
      deliver(SIGKILL);
      if (config_.launcher.empty()) {
        ::waitpid(pid_, &status, 0);
        break;
      }
      // A launcher gets 10 s to end after its service was killed; then it is killed too.
      bool ended = false;
      for (int i = 0; i < 2000 && !(ended = ::waitpid(pid_, &status, WNOHANG) == pid_); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!ended) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  pid_ = -1;
  last_exit_ = result;
  // The child is gone, so its end of the pipe is closed: the reader ends soon.
  join_reader();
  return result;
}

void server_process::send_signal(int sig) {
  deliver(sig);
}

process_exit server_process::wait(std::chrono::milliseconds timeout) {
  return reap(timeout);
}

process_exit server_process::terminate() {
  if (pid_ <= 0) return last_exit_;
  deliver(SIGTERM);
  return reap(config_.stop_timeout);
}

process_exit server_process::kill9() {
  if (pid_ <= 0) return last_exit_;
  deliver(SIGKILL);
  return reap(std::chrono::seconds(10));
}

void server_process::restart() {
  if (pid_ > 0) terminate();
  start();
}

std::string server_process::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

std::string server_process::all_logs() const {
  std::lock_guard lock(mu_);
  return old_logs_ + log_;
}

namespace {

std::vector<std::string> matching_lines(std::string_view text,
                                        std::function<bool(std::string_view)> const& pred) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) break;  // an unfinished line is not counted yet
    auto line = text.substr(0, nl);
    if (pred(line)) out.emplace_back(line);
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::vector<std::string> server_process::log_lines(
    std::function<bool(std::string_view)> const& pred) const {
  std::lock_guard lock(mu_);
  return matching_lines(log_, pred);
}

bool server_process::wait_for_log_lines(std::function<bool(std::string_view)> const& pred,
                                        std::size_t count,
                                        std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return matching_lines(log_, pred).size() >= count; });
}

bool server_process::wait_for_log(std::string_view needle,
                                  std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return log_.find(needle) != std::string::npos; });
}

}  // namespace agg::test
