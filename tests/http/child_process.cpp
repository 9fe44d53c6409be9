#include "child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace agg::test {

std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (s >= 0) ::close(s);
  if (!ok) throw std::runtime_error("no free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

run_as unprivileged_when_root() {
  if (::geteuid() != 0) return {};
  constexpr const char* user = "aggtest";
  passwd* pw = ::getpwnam(user);
  if (!pw) {
    // NOLINTNEXTLINE(cert-env33-c): a fixed command line, no input in it
    [[maybe_unused]] const int rc =
        std::system("useradd --system --no-create-home --shell /usr/sbin/nologin aggtest");
    pw = ::getpwnam(user);
  }
  if (!pw) throw std::runtime_error("cannot create the user aggtest");
  return {true, pw->pw_uid, pw->pw_gid};
}

std::filesystem::path make_owned_temp_dir(const std::string& prefix, const run_as& who) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
  if (::chmod(tmpl.c_str(), 0755) != 0 ||
      (who.drop && ::chown(tmpl.c_str(), who.uid, who.gid) != 0))
    throw std::runtime_error("cannot hand " + tmpl + " to the test user");
  return tmpl;
}

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const run_as& who, const spawn_options& o) {
  std::vector<std::string> args = argv, env = o.env ? *o.env : std::vector<std::string>{};
  std::vector<char*> av, ev;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  for (auto& e : env) ev.push_back(e.data());
  ev.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child > 0) return child;
  // The child: only async-signal-safe calls until exec.
  if (o.own_session) ::setsid();
  // Credentials first: changing them clears the parent-death signal.
  if (who.drop &&
      (::setgroups(0, nullptr) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0))
    _exit(126);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) _exit(126);  // the parent died before prctl
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0)
    _exit(126);
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) _exit(126);
  if (::close_range(3, ~0U, 0) != 0)
    for (int f = 3; f < 4096; ++f) ::close(f);
  if (o.env)
    ::execve(av[0], av.data(), ev.data());
  else
    ::execv(av[0], av.data());
  _exit(127);
}

std::pair<int, std::string> run_captured(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  char buf[4096];
  while (const auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace agg::test
