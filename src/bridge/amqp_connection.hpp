#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct amqp_connection_state_t_;

namespace agg::bridge {

// One AMQP 0-9-1 connection on rabbitmq-c (Debian's librabbitmq, 0.11). rabbitmq-c is
// blocking and not thread-safe, so a connection belongs to one thread: the intake and the
// fan-out each own theirs, on their own threads, and neither ever touches an Asio thread.
// Every call returns false on failure, with the reason in error(); after a failure of the
// connection (not only of a channel) the object is dead (connected() false) and is thrown away.
class amqp_connection {
 public:
  amqp_connection();
  ~amqp_connection();
  amqp_connection(const amqp_connection&) = delete;
  amqp_connection& operator=(const amqp_connection&) = delete;

  // `url`: amqp://user:pass@host:port/vhost (rabbitmq-c's amqp_parse_url). `timeout` bounds
  // the TCP connect, the handshake and every synchronous method.
  bool open(const std::string& url, std::chrono::milliseconds timeout);
  bool connected() const noexcept { return state_ != nullptr && !dead_; }
  const std::string& error() const noexcept { return error_; }

  bool open_channel(std::uint16_t ch);
  bool close_channel(std::uint16_t ch);

  // A queue or exchange that exists is used as it is (whatever its arguments): a passive
  // declare first on a scratch channel (a 404 closes only that channel); only when missing it
  // is declared durable on `ch`. The queue's extra arguments apply only when it is created.
  struct argument {
    std::string name;
    std::string value;
  };
  bool ensure_queue(std::uint16_t ch, const std::string& name,
                    const std::vector<argument>& args = {});
  bool ensure_exchange(std::uint16_t ch, const std::string& name, const char* type = "topic");
  bool bind_queue(std::uint16_t ch, const std::string& queue, const std::string& exchange,
                  const std::string& key);
  bool purge_queue(std::uint16_t ch, const std::string& queue);
  // Messages ready in the queue (a passive declare); nullopt on failure.
  std::optional<std::uint32_t> queue_depth(std::uint16_t ch, const std::string& queue);

  bool qos(std::uint16_t ch, std::uint16_t prefetch);
  bool consume(std::uint16_t ch, const std::string& queue);
  bool confirm_select(std::uint16_t ch);

  struct publish_props {
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> content_encoding;
    std::optional<std::int64_t> seq_header;  // header `seq`, AMQP signed 64-bit integer
    bool persistent = true;
  };
  bool publish(std::uint16_t ch, std::string_view exchange, std::string_view routing_key,
               std::string_view body, const publish_props& p);

  bool ack(std::uint16_t ch, std::uint64_t tag, bool multiple);
  bool reject(std::uint16_t ch, std::uint64_t tag, bool requeue);

  // One delivered message, copied out of rabbitmq-c's buffers.
  struct delivery {
    std::uint64_t tag = 0;
    bool redelivered = false;
    std::string routing_key;
    std::string body;
    std::optional<std::string> content_type;
    std::optional<std::string> content_encoding;
    std::optional<std::int64_t> seq_header;
  };
  // Something that came in: a delivery, a confirm (ack/nack, delivery tag, multiple), or
  // nothing within the timeout. Anything else (a channel or connection closed by the broker)
  // is a failure.
  struct incoming {
    enum kind { none, message, confirm_ack, confirm_nack } what = none;
    delivery msg;
    std::uint64_t tag = 0;
    bool multiple = false;
  };
  // Waits up to `timeout` for a delivery on a consuming channel.
  bool next_delivery(std::chrono::milliseconds timeout, incoming& out);
  // Waits up to `timeout` for a method frame (confirms on a confirm channel).
  bool next_frame(std::chrono::milliseconds timeout, incoming& out);

  void close() noexcept;

 private:
  bool rpc_ok(const char* what);
  bool fail(std::string why);

  amqp_connection_state_t_* state_ = nullptr;
  bool dead_ = false;
  std::chrono::milliseconds timeout_{5000};
  std::string error_;
};

}  // namespace agg::bridge
