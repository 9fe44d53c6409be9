#include "fault_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#ifndef AGG_BINARY
#define AGG_BINARY "aggregator"
#endif

extern char** environ;

namespace agg::test::faults {

posix_conn& posix_conn::operator=(posix_conn&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

bool posix_conn::connect(std::uint16_t port, std::chrono::milliseconds recv_timeout) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(recv_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((recv_timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    close();
    errno = e;
    return false;
  }
  return true;
}

bool posix_conn::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void posix_conn::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

std::string posix_conn::read_until_close(bool* timed_out) {
  std::string out;
  if (timed_out) *timed_out = false;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (timed_out) *timed_out = true;
      break;
    }
    if (n <= 0) break;  // closed (or reset)
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void posix_conn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

unsigned first_status(std::string_view raw) {
  if (raw.size() < 12 || raw.substr(0, 5) != "HTTP/") return 0;
  const auto sp = raw.find(' ');
  if (sp == std::string_view::npos || sp + 4 > raw.size()) return 0;
  unsigned v = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    if (raw[i] < '0' || raw[i] > '9') return 0;
    v = v * 10 + static_cast<unsigned>(raw[i] - '0');
  }
  return v;
}

std::string binary_path() {
  return AGG_BINARY;
}

run_result run_binary(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> all{binary_path()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "AGG_", 4) != 0) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(fds[1], 1) < 0 || ::dup2(fds[1], 2) < 0)
      _exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(fds[1]);
  run_result r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.exit.timed_out = true;
      ::kill(child, SIGKILL);
      break;
    }
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFEXITED(status)) {
    r.exit.exited = true;
    r.exit.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit.signal = WTERMSIG(status);
  }
  return r;
}

tmpfs_mount::tmpfs_mount(std::filesystem::path dir, std::string size) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string opts = "size=" + size + ",mode=0755";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
    why_ = "mount -t tmpfs -o " + opts + " " + dir_.string() + ": " + std::strerror(errno);
    return;
  }
  ok_ = true;
}

tmpfs_mount::~tmpfs_mount() {
  if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
}

bool tmpfs_mount::resize(const std::string& size) {
  const std::string opts = "size=" + size + ",mode=0755";
  return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
}

std::size_t vm_hwm_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

std::string sanitizer_report(std::string_view log) {
  for (const char* marker :
       {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
        "ERROR: ThreadSanitizer", "runtime error:", "ERROR: UndefinedBehaviorSanitizer"}) {
    const auto at = log.find(marker);
    if (at != std::string_view::npos) {
      const auto start = log.rfind('\n', at);
      return std::string(log.substr(start == std::string_view::npos ? 0 : start + 1, 3000));
    }
  }
  return {};
}

json::object padded_event(std::string_view topic, std::string_view id, std::size_t bytes) {
  return make_event(topic, id, {{"pad", std::string(bytes, 'x')}, {"id", id}});
}

http_response publish_retrying(http_client& c, const std::string& body, int attempts,
                               std::chrono::milliseconds pause, int* retries) {
  http_response r;
  for (int i = 0; i < attempts; ++i) {
    r = c.post_json("/publish", body);
    if (r.status != 503) return r;
    if (retries) ++*retries;
    std::this_thread::sleep_for(pause);
  }
  return r;
}

std::set<event_key> check_store_consistent(http_client& c, const std::set<event_key>& acked,
                                           const std::set<event_key>* sent) {
  const auto events = fetch_all_events(c);
  std::set<event_key> stored;
  std::map<std::string, std::int64_t> per_topic;
  std::size_t doubles = 0, strangers = 0;
  for (const auto& e : events) {
    const auto k = key_of(e);
    if (!stored.insert(k).second) ++doubles;
    if (sent && !sent->count(k)) ++strangers;
    ++per_topic[k.first];
  }
  std::size_t lost = 0;
  std::string first_lost;
  for (const auto& k : acked)
    if (!stored.count(k)) {
      if (lost++ == 0) first_lost = k.first + "/" + k.second;
    }
  BOOST_TEST(doubles == 0u, "keys stored more than once: " << doubles);
  BOOST_TEST(lost == 0u,
             "acknowledged events missing: " << lost << " (first " << first_lost << ")");
  BOOST_TEST(strangers == 0u, "stored events that were never sent: " << strangers);

  const auto stats = get_stats(c);
  BOOST_TEST_CONTEXT("stats " << to_text(stats)) {
    const auto unique = as_int(at(stats, "unique_processed"));
    BOOST_TEST(unique == static_cast<std::int64_t>(events.size()));
    BOOST_TEST(as_int(at(stats, "received")) == unique + as_int(at(stats, "duplicate_dropped")));
    BOOST_TEST(sum_topic_counts(stats) == unique);
    for (const auto& [topic, n] : per_topic) {
      const auto& counts = as_object(at(stats, "topic_counts"));
      const auto* v = counts.if_contains(topic);
      BOOST_TEST((v && as_int(*v) == n), "topic_counts[" << topic << "] == " << n);
    }
  }
  return stored;
}

}  // namespace agg::test::faults
