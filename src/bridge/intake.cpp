#include "bridge/intake.hpp"

#include "core/metrics.hpp"

namespace agg::bridge {
namespace {

using namespace std::chrono_literals;

constexpr std::uint16_t channel = 1;
// How long the thread waits for a delivery: short while completions are awaited (they are
// settled between waits, so an ack leaves at most this late), longer when idle.
constexpr auto busy_wait = 2ms;
constexpr auto idle_wait = 100ms;
// A message refused as overloaded is submitted again after this long.
constexpr auto overload_retry = 20ms;

}  // namespace

intake::intake(settings s, api::publisher& p, store::event_store& store, logger& log,
               link_status& status, bridge_counters& counters)
    : settings_(std::move(s)),
      publisher_(p),
      store_(store),
      log_(log),
      status_(status),
      counters_(counters) {
  status_.state = link_state::connecting;
}

intake::~intake() {
  stop();
}

void intake::start() {
  thread_ = std::thread([this] { run(); });
}

void intake::stop() {
  {
    std::lock_guard lk(wait_mu_);
    stop_ = true;
  }
  wait_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void intake::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lk(wait_mu_);
  wait_cv_.wait_for(lk, d, [this] { return stop_.load(); });
}

void intake::run() {
  backoff delay;
  while (!stop_) {
    if (!store_.writable()) {
      // Nothing is consumed while nothing could be acked.
      status_.state = link_state::paused;
      sleep_for(250ms);
      continue;
    }
    status_.state = link_state::connecting;
    amqp_connection c;
    const auto sessions = status_.connects.load();
    std::string why = session(c);
    c.close();  // unacked deliveries go back to the queue
    pending_.clear();
    if (stop_) break;
    status_.set_error(why);
    std::string line = "amqp_intake_down";
    logger::append_field(line, "queue", settings_.queue);
    logger::append_field(line, "reason", why);
    log_.write(log_level::warn, line);
    status_.state = store_.writable() ? link_state::connecting : link_state::paused;
    if (status_.connects.load() != sessions) delay.reset();  // it ran: try again soon
    sleep_for(delay.next());
  }
  status_.state = link_state::off;
}

std::string intake::session(amqp_connection& c) {
  if (!c.open(settings_.url, 10s) || !c.open_channel(channel) ||
      !c.ensure_queue(channel, settings_.queue) || !c.qos(channel, settings_.prefetch) ||
      !c.consume(channel, settings_.queue))
    return c.error();
  ++session_;
  status_.connects.fetch_add(1);
  status_.state = link_state::running;
  status_.set_error({});
  {
    std::string line = "amqp_intake_consuming";
    logger::append_field(line, "queue", settings_.queue);
    logger::append_field(line, "prefetch", std::to_string(settings_.prefetch));
    log_.write(log_level::info, line);
  }
  amqp_connection::incoming in;
  while (!stop_) {
    if (!c.next_delivery(pending_.empty() ? idle_wait : busy_wait, in)) return c.error();
    if (in.what == amqp_connection::incoming::message) {
      counters_.consumed.fetch_add(1, std::memory_order_relaxed);
      pending_.push_back(pending{in.msg.tag, outcome::waiting, {}, std::move(in.msg), {}});
      submit(pending_.back());
    }
    take_outcomes();
    bool pause = false;
    if (!settle(c, pause)) return c.error();
    // The store failed, or the service is shutting down: nothing more is acked or rejected.
    if (pause) return "the publish path is unavailable: " + pending_.front().reason;
    const auto now = std::chrono::steady_clock::now();
    for (auto& p : pending_)
      if (p.result == outcome::overloaded && p.retry_at <= now) submit(p);
  }
  return {};
}

void intake::submit(pending& p) {
  p.result = outcome::waiting;
  const std::uint64_t session = session_;
  const std::uint64_t tag = p.tag;
  std::optional<std::string_view> type, encoding;
  if (p.msg.content_type) type = *p.msg.content_type;
  if (p.msg.content_encoding) encoding = *p.msg.content_encoding;
  // The body is copied: an overloaded message is submitted again from the copy kept here.
  publisher_.publish_message(
      type, encoding, p.msg.body, settings_.executor, [mb = mailbox_, session, tag](api::reply r) {
        outcome o = outcome::stored;
        const auto code = static_cast<unsigned>(r.status);
        if (code == 503)
          o = r.body.find("\"overloaded\"") != std::string::npos ? outcome::overloaded
                                                                 : outcome::unavailable;
        else if (code >= 400)
          o = outcome::invalid;
        std::lock_guard lk(mb->mu);
        const bool why = o == outcome::invalid || o == outcome::unavailable;
        mb->items.push_back({session, tag, o, why ? std::move(r.body) : std::string()});
      });
}

void intake::take_outcomes() {
  std::deque<mailbox::item> items;
  {
    std::lock_guard lk(mailbox_->mu);
    items.swap(mailbox_->items);
  }
  if (items.empty()) return;
  const auto retry_at = std::chrono::steady_clock::now() + overload_retry;
  for (auto& it : items) {
    if (it.session != session_ || pending_.empty()) continue;
    // A channel's delivery tags are 1, 2, 3, ... and every delivery is held here until it is
    // settled in order, so an entry sits at its distance from the first.
    const std::uint64_t first = pending_.front().tag;
    if (it.tag < first || it.tag - first >= pending_.size()) continue;
    pending& p = pending_[static_cast<std::size_t>(it.tag - first)];
    if (p.tag != it.tag) continue;
    p.result = it.result;
    p.reason = std::move(it.reason);
    p.retry_at = retry_at;
  }
}

bool intake::settle(amqp_connection& c, bool& pause) {
  std::uint64_t ack_to = 0;
  std::uint64_t run = 0;
  auto flush = [&] {
    if (run == 0) return true;
    const bool ok = c.ack(channel, ack_to, run > 1);
    counters_.acked.fetch_add(run, std::memory_order_relaxed);
    run = 0;
    return ok;
  };
  while (!pending_.empty()) {
    pending& p = pending_.front();
    if (p.result == outcome::waiting || p.result == outcome::overloaded) break;
    if (p.result == outcome::unavailable) {
      pause = true;
      break;
    }
    if (p.result == outcome::stored) {
      ack_to = p.tag;
      ++run;
    } else {  // invalid
      if (!flush()) return false;
      if (!c.reject(channel, p.tag, false)) return false;
      counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      // Counted once, as HTTP counts a 4xx answer.
      store_.count_rejected(1, 0);
      metrics::process().rejected_invalid.inc();
      std::string line = "amqp_message_rejected";
      logger::append_field(line, "queue", settings_.queue);
      logger::append_field(line, "delivery_tag", std::to_string(p.tag));
      logger::append_field(line, "reason", p.reason);
      log_.write(log_level::warn, line);
    }
    pending_.pop_front();
  }
  return flush();
}

}  // namespace agg::bridge
