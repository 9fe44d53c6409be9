#include "core/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace agg::metrics {

std::string_view route_name(route r) noexcept {
  switch (r) {
    case route::publish:
      return "publish";
    case route::events:
      return "events";
    case route::subscribe:
      return "subscribe";
    case route::stats:
      return "stats";
    case route::health:
      return "health";
    case route::metrics:
      return "metrics";
    case route::other:
      break;
  }
  return "other";
}

route route_of(std::string_view target) noexcept {
  const auto path = target.substr(0, target.find('?'));
  if (path == "/publish") return route::publish;
  if (path == "/events") return route::events;
  if (path == "/subscribe") return route::subscribe;
  if (path == "/stats") return route::stats;
  if (path == "/health") return route::health;
  if (path == "/metrics") return route::metrics;
  return route::other;
}

std::string_view transport_name(transport t) noexcept {
  switch (t) {
    case transport::sse:
      return "sse";
    case transport::websocket:
      return "websocket";
    case transport::ndjson:
      break;
  }
  return "ndjson";
}

registry& process() noexcept {
  // Leaked on purpose: a thread still running while statics are destroyed may record.
  static registry* const r = new registry;
  return *r;
}

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

process_figures read_process_figures() {
  process_figures f;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // /proc/self/stat: the command name (field 2) may hold spaces; fields count after its ')'.
  const std::string stat = read_file("/proc/self/stat");
  const auto close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    // Field 3 is the first after ')': utime is 14, stime 15, starttime 22, vsize 23, rss 24.
    double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    for (int i = 3; i <= 24 && in >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
      if (i == 22) start = std::stod(field);
      if (i == 23) vsize = std::stod(field);
      if (i == 24) rss = std::stod(field);
    }
    f.cpu_seconds = (utime + stime) / ticks;
    f.virtual_bytes = vsize;
    f.resident_bytes = rss * page;
    // starttime counts ticks since boot; /proc/stat's btime is the boot in epoch seconds.
    std::istringstream ps(read_file("/proc/stat"));
    std::string line;
    while (std::getline(ps, line))
      if (line.rfind("btime ", 0) == 0)
        f.start_time_seconds = std::stod(line.substr(6)) + start / ticks;
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    double n = 0;
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    f.open_fds = n - 1;  // the directory's own descriptor
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    f.max_fds = static_cast<double>(lim.rlim_cur);
  return f;
}

}  // namespace agg::metrics
