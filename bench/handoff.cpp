// bench-handoff: what one wake-up of a sleeping thread costs on this machine, the unit the
// single-event path pays for each time a request or its answer crosses threads.
//
// Two threads pass a token back and forth through a mutex and a condition variable, each
// sleeping until it is its turn, as the consumer thread sleeps until a request arrives and an
// I/O thread sleeps in epoll_wait until an answer does. Measured twice: free to run on any
// CPU (the case of the service) and both pinned to one CPU (the lowest this process may use).
// Prints one JSON object: CPU time (user + system, both threads) and wall time per hand-off.
#include <sched.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct result {
  double cpu_us = 0;
  double wall_us = 0;
};

// The lowest CPU this process may run on (CPU 0 may be outside its cpuset), or -1.
int first_allowed_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return -1;
}

// `rounds` round trips, 2 * rounds hand-offs; with one_cpu >= 0 both threads run on that CPU.
result ping_pong(long rounds, int one_cpu) {
  std::mutex m;
  std::condition_variable cv;
  long turn = 0;
  auto play = [&](long first) {
    if (one_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(one_cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) {
        std::fprintf(stderr, "error: cannot pin a thread to CPU %d\n", one_cpu);
        std::exit(1);
      }
    }
    for (long i = first; i < 2 * rounds; i += 2) {
      std::unique_lock lk(m);
      cv.wait(lk, [&] { return turn == i; });
      ++turn;
      cv.notify_one();
    }
  };
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::thread a(play, 0), b(play, 1);
  a.join();
  b.join();
  const std::chrono::duration<double, std::micro> wall = std::chrono::steady_clock::now() - t0;
  const double n = 2.0 * static_cast<double>(rounds);
  return {(cpu_seconds() - cpu0) * 1e6 / n, wall.count() / n};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc > 1 ? argv[1] : "";
  if (arg == "--help" || arg == "-h") {
    std::puts("usage: bench-handoff [ROUNDS]  (default 200000 round trips per measurement)");
    return 0;
  }
  const long rounds = arg.empty() ? 200000 : std::atol(arg.c_str());
  if (rounds <= 0) {
    std::fprintf(stderr, "error: ROUNDS must be a positive number, got '%s'\n", arg.c_str());
    return 1;
  }
  const int cpu = first_allowed_cpu();
  if (cpu < 0) {
    std::fprintf(stderr, "error: cannot read this process's CPU affinity\n");
    return 1;
  }
  const result any = ping_pong(rounds, -1);
  const result one = ping_pong(rounds, cpu);
  std::printf(
      "{\"tool\":\"bench-handoff\",\"handoffs\":%ld,"
      "\"any_cpu\":{\"cpu_us_per_handoff\":%.3f,\"wall_us_per_handoff\":%.3f},"
      "\"one_cpu\":{\"cpu_us_per_handoff\":%.3f,\"wall_us_per_handoff\":%.3f}}\n",
      2 * rounds, any.cpu_us, any.wall_us, one.cpu_us, one.wall_us);
  return 0;
}
