#include "bridge/amqp_connection.hpp"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <sys/time.h>

#include <cstring>

namespace agg::bridge {
namespace {

// The channel of passive declares: a 404 closes it and nothing else.
constexpr std::uint16_t scratch = 100;

amqp_bytes_t bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string text(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string reply_text(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "connection closed by the broker: " + std::to_string(m->reply_code) + " " +
               text(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "channel closed by the broker: " + std::to_string(m->reply_code) + " " +
               text(m->reply_text);
      }
      return "unexpected method from the broker";
  }
  return "unknown reply";
}

}  // namespace

amqp_connection::amqp_connection() = default;

amqp_connection::~amqp_connection() {
  close();
}

bool amqp_connection::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool amqp_connection::rpc_ok(const char* what) {
  const amqp_rpc_reply_t r = amqp_get_rpc_reply(state_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return true;
  // Only a channel exception leaves the connection usable.
  if (!(r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD))
    dead_ = true;
  return fail(std::string(what) + ": " + reply_text(r));
}

bool amqp_connection::open(const std::string& url, std::chrono::milliseconds timeout) {
  close();
  dead_ = false;
  timeout_ = timeout;
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (!url.empty() && amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
    return fail("cannot parse the AMQP URL (amqp://user:pass@host:port/vhost)");
  // amqp://host:5672/ names the empty vhost for rabbitmq-c; brokers call the default one "/".
  if (info.vhost[0] == '\0') info.vhost = const_cast<char*>("/");
  state_ = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(state_);
  if (!socket) {
    dead_ = true;
    return fail("cannot create a socket");
  }
  timeval tv = to_timeval(timeout);
  amqp_set_handshake_timeout(state_, &tv);
  amqp_set_rpc_timeout(state_, &tv);
  if (const int rc = amqp_socket_open_noblock(socket, info.host, info.port, &tv);
      rc != AMQP_STATUS_OK) {
    dead_ = true;
    return fail(std::string("cannot connect to ") + info.host + ":" + std::to_string(info.port) +
                ": " + amqp_error_string2(rc));
  }
  // Heartbeats every 10 s: a broker that vanished without closing the TCP connection is
  // noticed within about 2 intervals by the broker side and by our timeouts.
  const amqp_rpc_reply_t r = amqp_login(state_, info.vhost, 0, 131072, 10, AMQP_SASL_METHOD_PLAIN,
                                        info.user, info.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    dead_ = true;
    return fail("login failed: " + reply_text(r));
  }
  return true;
}

bool amqp_connection::open_channel(std::uint16_t ch) {
  amqp_channel_open(state_, ch);
  return rpc_ok("channel.open");
}

bool amqp_connection::close_channel(std::uint16_t ch) {
  const amqp_rpc_reply_t r = amqp_channel_close(state_, ch, AMQP_REPLY_SUCCESS);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    dead_ = true;
    return fail("channel.close: " + reply_text(r));
  }
  return true;
}

bool amqp_connection::ensure_queue(std::uint16_t ch, const std::string& name,
                                   const std::vector<argument>& args) {
  if (!open_channel(scratch)) return false;
  amqp_queue_declare(state_, scratch, bytes(name), 1, 0, 0, 0, amqp_empty_table);
  const amqp_rpc_reply_t r = amqp_get_rpc_reply(state_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return close_channel(scratch);
  if (!(r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)) {
    dead_ = true;
    return fail("queue.declare (passive) " + name + ": " + reply_text(r));
  }
  amqp_channel_close_ok_t ok{};
  amqp_send_method(state_, scratch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  // Missing: create it durable.
  std::vector<amqp_table_entry_t> entries(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    entries[i].key = bytes(args[i].name);
    entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[i].value.value.bytes = bytes(args[i].value);
  }
  amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
  amqp_queue_declare(state_, ch, bytes(name), 0, 1, 0, 0, table);
  return rpc_ok("queue.declare");
}

bool amqp_connection::ensure_exchange(std::uint16_t ch, const std::string& name, const char* type) {
  if (!open_channel(scratch)) return false;
  amqp_exchange_declare(state_, scratch, bytes(name), amqp_cstring_bytes(type), 1, 0, 0, 0,
                        amqp_empty_table);
  const amqp_rpc_reply_t r = amqp_get_rpc_reply(state_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return close_channel(scratch);
  if (!(r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)) {
    dead_ = true;
    return fail("exchange.declare (passive) " + name + ": " + reply_text(r));
  }
  amqp_channel_close_ok_t ok{};
  amqp_send_method(state_, scratch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  amqp_exchange_declare(state_, ch, bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0,
                        amqp_empty_table);
  return rpc_ok("exchange.declare");
}

bool amqp_connection::bind_queue(std::uint16_t ch, const std::string& queue,
                                 const std::string& exchange, const std::string& key) {
  amqp_queue_bind(state_, ch, bytes(queue), bytes(exchange), bytes(key), amqp_empty_table);
  return rpc_ok("queue.bind");
}

bool amqp_connection::purge_queue(std::uint16_t ch, const std::string& queue) {
  amqp_queue_purge(state_, ch, bytes(queue));
  return rpc_ok("queue.purge");
}

std::optional<std::uint32_t> amqp_connection::queue_depth(std::uint16_t ch,
                                                          const std::string& queue) {
  const auto* ok = amqp_queue_declare(state_, ch, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  if (!rpc_ok("queue.declare (passive)") || !ok) return std::nullopt;
  return ok->message_count;
}

bool amqp_connection::qos(std::uint16_t ch, std::uint16_t prefetch) {
  amqp_basic_qos(state_, ch, 0, prefetch, 0);
  return rpc_ok("basic.qos");
}

bool amqp_connection::consume(std::uint16_t ch, const std::string& queue) {
  amqp_basic_consume(state_, ch, bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  return rpc_ok("basic.consume");
}

bool amqp_connection::confirm_select(std::uint16_t ch) {
  amqp_confirm_select(state_, ch);
  return rpc_ok("confirm.select");
}

bool amqp_connection::publish(std::uint16_t ch, std::string_view exchange,
                              std::string_view routing_key, std::string_view body,
                              const publish_props& p) {
  amqp_basic_properties_t props{};
  props._flags = 0;
  if (p.content_type) {
    props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.content_type = bytes(*p.content_type);
  }
  if (p.content_encoding) {
    props._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
    props.content_encoding = bytes(*p.content_encoding);
  }
  if (p.persistent) {
    props._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  }
  amqp_table_entry_t seq{};
  if (p.seq_header) {
    seq.key = amqp_cstring_bytes("seq");
    seq.value.kind = AMQP_FIELD_KIND_I64;
    seq.value.value.i64 = *p.seq_header;
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers = amqp_table_t{1, &seq};
  }
  const int rc = amqp_basic_publish(state_, ch, bytes(exchange), bytes(routing_key), 0, 0, &props,
                                    bytes(body));
  if (rc != AMQP_STATUS_OK) {
    dead_ = true;
    return fail(std::string("basic.publish: ") + amqp_error_string2(rc));
  }
  return true;
}

bool amqp_connection::ack(std::uint16_t ch, std::uint64_t tag, bool multiple) {
  if (const int rc = amqp_basic_ack(state_, ch, tag, multiple ? 1 : 0); rc != AMQP_STATUS_OK) {
    dead_ = true;
    return fail(std::string("basic.ack: ") + amqp_error_string2(rc));
  }
  return true;
}

bool amqp_connection::reject(std::uint16_t ch, std::uint64_t tag, bool requeue) {
  if (const int rc = amqp_basic_reject(state_, ch, tag, requeue ? 1 : 0); rc != AMQP_STATUS_OK) {
    dead_ = true;
    return fail(std::string("basic.reject: ") + amqp_error_string2(rc));
  }
  return true;
}

bool amqp_connection::next_delivery(std::chrono::milliseconds timeout, incoming& out) {
  out.what = incoming::none;
  amqp_maybe_release_buffers(state_);
  amqp_envelope_t env{};
  const timeval tv = to_timeval(timeout);
  const amqp_rpc_reply_t r = amqp_consume_message(state_, &env, &tv, 0);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    out.what = incoming::message;
    delivery& d = out.msg;
    d.tag = env.delivery_tag;
    d.redelivered = env.redelivered != 0;
    d.routing_key = text(env.routing_key);
    d.body = text(env.message.body);
    const auto& props = env.message.properties;
    d.content_type.reset();
    d.content_encoding.reset();
    d.seq_header.reset();
    if (props._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) d.content_type = text(props.content_type);
    if (props._flags & AMQP_BASIC_CONTENT_ENCODING_FLAG)
      d.content_encoding = text(props.content_encoding);
    if (props._flags & AMQP_BASIC_HEADERS_FLAG)
      for (int i = 0; i < props.headers.num_entries; ++i) {
        const auto& e = props.headers.entries[i];
        if (text(e.key) == "seq" && e.value.kind == AMQP_FIELD_KIND_I64)
          d.seq_header = e.value.value.i64;
      }
    amqp_destroy_envelope(&env);
    return true;
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
    return true;
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
    // Another frame than a delivery is waiting (a close, a cancel): read it.
    return next_frame(std::chrono::milliseconds(0), out);
  dead_ = true;
  return fail("consume: " + reply_text(r));
}

bool amqp_connection::next_frame(std::chrono::milliseconds timeout, incoming& out) {
  out.what = incoming::none;
  amqp_frame_t frame{};
  timeval tv = to_timeval(timeout);
  const int rc = amqp_simple_wait_frame_noblock(state_, &frame, &tv);
  if (rc == AMQP_STATUS_TIMEOUT) return true;
  if (rc != AMQP_STATUS_OK) {
    dead_ = true;
    return fail(std::string("reading from the broker: ") + amqp_error_string2(rc));
  }
  if (frame.frame_type != AMQP_FRAME_METHOD) return true;  // heartbeats are handled inside
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      const auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      out.what = incoming::confirm_ack;
      out.tag = m->delivery_tag;
      out.multiple = m->multiple != 0;
      return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      out.what = incoming::confirm_nack;
      out.tag = m->delivery_tag;
      out.multiple = m->multiple != 0;
      return true;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
      dead_ = true;  // the bridge reconnects as a whole
      return fail("channel closed by the broker: " + std::to_string(m->reply_code) + " " +
                  text(m->reply_text));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
      dead_ = true;
      return fail("connection closed by the broker: " + std::to_string(m->reply_code) + " " +
                  text(m->reply_text));
    }
    case AMQP_BASIC_CANCEL_METHOD:
      dead_ = true;
      return fail("the broker cancelled the consumer (queue deleted?)");
    default:
      return true;
  }
}

void amqp_connection::close() noexcept {
  if (!state_) return;
  if (!dead_) amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state_);
  state_ = nullptr;
}

}  // namespace agg::bridge
