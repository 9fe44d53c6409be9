#include "ingest/queued_sink.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace agg::ingest {

queued_sink::queued_sink(executor_type strand, api::stream_reply callbacks)
    : strand_(std::move(strand)), callbacks_(std::move(callbacks)) {}

bool queued_sink::send(message m) {
  if (!m || ending_.load(std::memory_order_acquire)) return false;
  queued_bytes_.fetch_add(m->size(), std::memory_order_relaxed);
  boost::asio::dispatch(strand_, [self = shared_from_this(), m = std::move(m)]() mutable {
    if (self->finished_ || self->end_queued_) {
      self->queued_bytes_.fetch_sub(m->size(), std::memory_order_relaxed);
      return;
    }
    self->queue_.push_back(std::move(m));
    self->pump();
  });
  return true;
}

void queued_sink::end(message last, std::uint16_t code, std::string reason) {
  if (ending_.exchange(true, std::memory_order_acq_rel)) return;
  if (last) queued_bytes_.fetch_add(last->size(), std::memory_order_relaxed);
  boost::asio::dispatch(strand_, [self = shared_from_this(), last = std::move(last), code,
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
    // The message stays at the queue's front (and alive) until its write completes.
    write_message(*queue_.front(), [self = shared_from_this()](boost::system::error_code ec) {
      self->writing_ = false;
      self->queued_bytes_.fetch_sub(self->queue_.front()->size(), std::memory_order_relaxed);
      self->queue_.pop_front();
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
