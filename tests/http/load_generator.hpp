#pragma once

// Publisher threads that keep POSTing batches to /publish until stopped, and record
// exactly what the server acknowledged: the material for crash and shutdown tests.
//
// Each batch holds new events (ids "<prefix>-<thread>-<n>") plus re-sends of events
// this thread sent before, so duplicates flow too. An event's body is a pure function of
// its key (event_for), so a re-send is never a conflict. I/O failures (refused, reset,
// closed before an answer, timeout) are counted and the thread reconnects; any HTTP
// answer other than 200, or a 200 whose results do not match the request, is recorded
// in `unexpected`.

#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace agg::test {

class load_generator {
 public:
  struct options {
    std::size_t threads = 4;
    std::size_t batch_size = 10;        // events per request
    std::size_t resends_per_batch = 2;  // of them, earlier events sent again
    std::string id_prefix = "load";
    std::vector<std::string> topics{"load.a", "load.b", "load.c"};
    std::chrono::milliseconds request_timeout{10000};
    std::chrono::milliseconds retry_pause{2};  // after an I/O failure
  };

  struct outcome {
    std::size_t ok_requests = 0;  // answered 200
    std::size_t io_errors = 0;    // no answer
    std::vector<std::string> unexpected;
    std::int64_t received = 0;  // sums over the 200 answers
    std::int64_t accepted = 0;
    std::int64_t duplicates = 0;
    std::set<event_key> acked;  // keys that were in a 200 answer
    std::set<event_key> sent;   // keys of every request written, answered or not
  };

  load_generator(std::string host, std::uint16_t port, options opt);
  load_generator(std::string host, std::uint16_t port)
      : load_generator(std::move(host), port, options{}) {}
  ~load_generator();
  load_generator(load_generator const&) = delete;
  load_generator& operator=(load_generator const&) = delete;

  void start();
  // Stops the threads and merges their records into result().
  void stop();
  outcome const& result() const { return result_; }
  // 200 answers so far (while running).
  std::size_t ok_requests() const { return ok_requests_.load(); }

  // The event body published for a key.
  static json::object event_for(event_key const& key);

 private:
  void run(std::size_t index);

  std::string host_;
  std::uint16_t port_;
  options opt_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> ok_requests_{0};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<outcome> per_thread_;  // guarded by mu_ while running (each thread its own slot)
  outcome result_;
};

}  // namespace agg::test
