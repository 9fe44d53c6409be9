#pragma once

#include "api/stream.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>

namespace agg::ingest {

// The part of a stream every transport shares: a queue of shared messages written one at a
// time on the connection's thread (so the socket's pace is the stream's pace), the byte count
// the send budget looks at, and the endpoint's callbacks. A transport supplies how one
// message and the end are written.
class queued_sink : public api::stream_sink, public std::enable_shared_from_this<queued_sink> {
 public:
  using executor_type = boost::asio::io_context::executor_type;
  using write_handler = std::function<void(boost::system::error_code)>;

  queued_sink(executor_type executor, api::stream_reply callbacks);

  bool send(message m) override;
  bool send_all(std::vector<message> ms) override;
  std::size_t queued_bytes() const noexcept override {
    return queued_bytes_.load(std::memory_order_relaxed);
  }
  void end(message last, std::uint16_t code, std::string reason) override;

  // Transport side, on the connection's thread: the head is written, start writing and tell the
  // endpoint.
  void open();
  // Transport side, on the connection's thread, after it closed the socket: the peer is gone. A
  // write in flight then fails and finishes the stream; otherwise it finishes here.
  void peer_gone(boost::system::error_code ec);

 protected:
  // The three run on the connection's thread. Writes the messages in order (one gathered
  // write where the framing allows it); writes the end; the stream is over (ended, failed or
  // peer gone): the transport lets go of the connection.
  virtual void write_messages(const std::vector<message>& ms, write_handler done) = 0;
  virtual void write_end(std::uint16_t code, const std::string& reason, write_handler done) = 0;
  virtual void on_finished(boost::system::error_code ec) = 0;

  executor_type executor_;

 private:
  void enqueue(std::vector<message> ms);      // its thread
  void pump();                                // its thread
  void finish(boost::system::error_code ec);  // its thread

  api::stream_reply callbacks_;         // its thread only
  std::deque<message> queue_;           // its thread only
  std::vector<message> writing_batch_;  // its thread only: taken off queue_, being written
  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<bool> ending_{false};  // end() was called: send() refuses
  bool opened_ = false;              // its thread only
  bool writing_ = false;             // its thread only
  bool end_queued_ = false;          // its thread only
  bool finished_ = false;            // its thread only
  std::uint16_t close_code_ = 1000;  // its thread only
  std::string close_reason_;         // its thread only
};

}  // namespace agg::ingest
