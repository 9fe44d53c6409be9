#include "ingest/queued_sink.hpp"

#include <boost/asio/dispatch.hpp>

#include <algorithm>
#include <iterator>

namespace agg::ingest {

queued_sink::queued_sink(executor_type executor, api::stream_reply callbacks)
    : executor_(std::move(executor)), callbacks_(std::move(callbacks)) {}

namespace {

// Most messages handed to one gathered write: enough to take a commit's worth of small events
// in one system call; a chunk takes 3 iovecs, so 768, under Linux's IOV_MAX of 1024.
constexpr std::size_t max_gather = 256;

}  // namespace

bool queued_sink::send(message m) {
  if (!m) return !ending_.load(std::memory_order_acquire);
  std::vector<message> one;
  one.push_back(std::move(m));
  return send_all(std::move(one));
}

bool queued_sink::send_all(std::vector<message> ms) {
  if (ending_.load(std::memory_order_acquire)) return false;
  std::size_t bytes = 0;
  for (const auto& m : ms) bytes += m ? m->size() : 0;
  queued_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  // Runs at once when called on the connection's thread (the endpoint's on_open), so what it
  // sends there goes before anything another thread sends meanwhile (SSE's retry line before
  // the first event). That may also be a caller that is not this connection's handler (the
  // subscriptions' timers, on the first I/O thread) and holds its locks: fine, because pump()
  // only starts writes, and the transports never complete one inside the call that started it.
  auto take = [self = shared_from_this(), ms = std::move(ms), bytes]() mutable {
    if (self->finished_ || self->end_queued_) {
      self->queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      return;
    }
    self->enqueue(std::move(ms));
    self->pump();
  };
  boost::asio::dispatch(executor_, std::move(take));
  return true;
}

void queued_sink::enqueue(std::vector<message> ms) {
  for (auto& m : ms)
    if (m) queue_.push_back(std::move(m));
}

void queued_sink::end(message last, std::uint16_t code, std::string reason) {
  if (ending_.exchange(true, std::memory_order_acq_rel)) return;
  if (last) queued_bytes_.fetch_add(last->size(), std::memory_order_relaxed);
  boost::asio::dispatch(executor_, [self = shared_from_this(), last = std::move(last), code,
                                    reason = std::move(reason)]() mutable {
    if (self->finished_) return;
    if (last) self->queue_.push_back(std::move(last));
    self->end_queued_ = true;
    self->close_code_ = code;
    self->close_reason_ = std::move(reason);
    self->pump();
  });
}

void queued_sink::peer_gone(boost::system::error_code ec) {
  if (!writing_) finish(ec);
}

void queued_sink::open() {
  opened_ = true;
  if (callbacks_.on_open) callbacks_.on_open(shared_from_this());
  pump();
}

void queued_sink::pump() {
  if (!opened_ || writing_ || finished_) return;
  if (!queue_.empty()) {
    writing_ = true;
    // The messages stay alive in writing_batch_ until their write completes.
    const std::size_t n = std::min(queue_.size(), max_gather);
    writing_batch_.assign(std::make_move_iterator(queue_.begin()),
                          std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    write_messages(writing_batch_, [self = shared_from_this()](boost::system::error_code ec) {
      self->writing_ = false;
      std::size_t bytes = 0;
      for (const auto& m : self->writing_batch_) bytes += m->size();
      self->writing_batch_.clear();
      self->queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      if (ec) return self->finish(ec);
      if (self->queue_.empty() && !self->end_queued_ && self->callbacks_.on_drained)
        self->callbacks_.on_drained();
      self->pump();
    });
    return;
  }
  if (end_queued_) {
    writing_ = true;
    write_end(close_code_, close_reason_,
              [self = shared_from_this()](boost::system::error_code ec) {
                self->writing_ = false;
                self->finish(ec);
              });
  }
}

void queued_sink::finish(boost::system::error_code ec) {
  if (finished_) return;
  finished_ = true;
  ending_.store(true, std::memory_order_release);
  for (const auto& m : queue_) queued_bytes_.fetch_sub(m->size(), std::memory_order_relaxed);
  queue_.clear();
  // Drop the endpoint's callbacks after telling it: they may own the endpoint's state.
  auto closed = std::move(callbacks_.on_closed);
  callbacks_ = {};
  if (closed) closed();
  on_finished(ec);
}

}  // namespace agg::ingest
