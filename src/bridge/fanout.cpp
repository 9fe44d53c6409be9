#include "bridge/fanout.hpp"

#include "api/responses.hpp"

#include <algorithm>
#include <future>

namespace agg::bridge {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr std::uint16_t channel = 1;
// Most events published and not yet confirmed: the broker confirms in batches, so a deep
// window keeps the channel full; a reconnect publishes at most this many again.
constexpr std::size_t window = 8192;
// Events one read of the store takes.
constexpr std::int64_t page = 1000;
// The cursor is written at most this often while events flow (and whenever the fan-out
// catches up): a crash republishes at most this long's worth.
constexpr auto save_every = 200ms;
// How often the PostgreSQL publisher lock is checked.
constexpr auto held_every = 1s;

const std::string_view json_type = "application/json";

}  // namespace

fanout::fanout(settings s, store::event_store& store, logger& log, link_status& status,
               bridge_counters& counters)
    : settings_(std::move(s)),
      store_(store),
      following_(store),
      log_(log),
      status_(status),
      counters_(counters) {
  status_.state = link_state::connecting;
  store_.add_commit_listener([w = wakeup_](const store::commit_notice&) {
    {
      std::lock_guard lk(w->mu);
      w->signalled = true;
    }
    w->cv.notify_one();
  });
}

fanout::~fanout() {
  stop();
}

void fanout::start() {
  thread_ = std::thread([this] { run(); });
}

void fanout::stop() {
  {
    std::lock_guard lk(wakeup_->mu);
    stop_ = true;
  }
  wakeup_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t fanout::lag() const noexcept {
  return std::max<std::int64_t>(0, store_.last_seq() - counters_.fanout_seq.load());
}

void fanout::wait(std::chrono::milliseconds d) {
  std::unique_lock lk(wakeup_->mu);
  wakeup_->cv.wait_for(lk, d, [this] { return wakeup_->signalled || stop_.load(); });
  wakeup_->signalled = false;
}

void fanout::run() {
  backoff delay;
  std::unique_ptr<store::fanout_cursor> cursor;
  while (!stop_) {
    std::string why;
    const auto sessions = status_.connects.load();
    try {
      if (!cursor) cursor = store_.open_fanout_cursor(settings_.exchange);
      amqp_connection c;
      why = session(c, *cursor);
      c.close();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (stop_) break;
    status_.set_error(why);
    if (status_.state != link_state::standby) {
      status_.state = link_state::connecting;
      std::string line = "amqp_fanout_down";
      logger::append_field(line, "exchange", settings_.exchange);
      logger::append_field(line, "reason", why);
      log_.write(log_level::warn, line);
    }
    if (status_.connects.load() != sessions) delay.reset();
    wait(status_.state == link_state::standby ? 1000ms : delay.next());
  }
  status_.state = link_state::off;
}

std::string fanout::session(amqp_connection& c, store::fanout_cursor& cursor) {
  std::string err;
  if (!cursor.acquire(err)) {
    if (err.rfind("another node", 0) == 0) status_.state = link_state::standby;
    return err;
  }
  std::int64_t saved = 0;
  if (cursor.load(saved, err)) return "cannot read the fan-out cursor: " + err;
  confirmed_ = saved;
  counters_.fanout_seq = saved;
  unconfirmed_.clear();
  if (!c.open(settings_.url, 10s) || !c.open_channel(channel) ||
      !c.ensure_exchange(channel, settings_.exchange) || !c.confirm_select(channel))
    return c.error();
  status_.connects.fetch_add(1);
  status_.state = link_state::running;
  status_.set_error({});
  {
    std::string line = "amqp_fanout_publishing";
    logger::append_field(line, "exchange", settings_.exchange);
    logger::append_field(line, "after_seq", std::to_string(saved));
    log_.write(log_level::info, line);
  }

  std::uint64_t next_no = 1;
  std::int64_t read_to = saved;  // every seq up to it has been published in this session
  auto last_save = clock::now();
  auto last_held = clock::now();
  std::vector<store::stored_event> rows;
  std::string body;
  amqp_connection::publish_props props;
  props.content_type = json_type;
  amqp_connection::incoming in;
  while (!stop_) {
    const auto now = clock::now();
    if (now - last_held >= held_every) {
      if (!cursor.held()) return "lost the publisher lock of the exchange";
      last_held = now;
    }
    bool published = false;
    const std::int64_t visible = store_.last_seq();
    if (read_to < visible && unconfirmed_.size() < window) {
      const auto limit =
          std::min<std::int64_t>(page, static_cast<std::int64_t>(window - unconfirmed_.size()));
      if (!read(read_to, limit, rows, err)) return "cannot read stored events: " + err;
      for (const auto& e : rows) {
        body.clear();
        api::append_event_json(body, e);
        props.seq_header = e.seq;
        if (!c.publish(channel, settings_.exchange, e.topic, body, props)) return c.error();
        unconfirmed_.push_back({next_no++, e.seq, false});
        read_to = e.seq;
      }
      counters_.published.fetch_add(rows.size(), std::memory_order_relaxed);
      // A short page saw everything visible when it began (a shared store may leave gaps).
      if (static_cast<std::int64_t>(rows.size()) < limit) read_to = std::max(read_to, visible);
      published = true;
    }
    // Confirms: take what has arrived; wait a little when only confirms are left to come.
    auto timeout = (!published && !unconfirmed_.empty()) ? 20ms : 0ms;
    for (;;) {
      if (!c.next_frame(timeout, in)) return c.error();
      if (in.what == amqp_connection::incoming::none) break;
      if (in.what == amqp_connection::incoming::confirm_nack)
        return "the broker refused a publication (basic.nack)";
      if (in.what == amqp_connection::incoming::confirm_ack) on_confirm(in.tag, in.multiple);
      timeout = 0ms;
    }
    if (unconfirmed_.empty()) confirmed_ = std::max(confirmed_, read_to);
    counters_.fanout_seq = confirmed_;
    if (confirmed_ > saved && (unconfirmed_.empty() || clock::now() - last_save >= save_every)) {
      if (cursor.save(confirmed_, err)) return "cannot save the fan-out cursor: " + err;
      saved = confirmed_;
      last_save = clock::now();
    }
    if (!published && unconfirmed_.empty() && read_to >= store_.last_seq()) wait(100ms);
  }
  // Stopping: keep what was confirmed, so a restart publishes again as little as possible.
  if (confirmed_ > saved) cursor.save(confirmed_, err);
  return {};
}

void fanout::on_confirm(std::uint64_t tag, bool multiple) {
  if (unconfirmed_.empty()) return;
  const std::uint64_t first = unconfirmed_.front().publish_no;
  if (tag < first) return;
  if (multiple) {
    const std::size_t n = std::min<std::size_t>(unconfirmed_.size(), tag - first + 1);
    for (std::size_t i = 0; i < n; ++i) unconfirmed_[i].confirmed = true;
  } else if (tag - first < unconfirmed_.size()) {
    unconfirmed_[static_cast<std::size_t>(tag - first)].confirmed = true;
  }
  std::uint64_t n = 0;
  while (!unconfirmed_.empty() && unconfirmed_.front().confirmed) {
    confirmed_ = unconfirmed_.front().seq;
    unconfirmed_.pop_front();
    ++n;
  }
  counters_.confirmed.fetch_add(n, std::memory_order_relaxed);
}

bool fanout::read(std::int64_t after, std::int64_t limit, std::vector<store::stored_event>& out,
                  std::string& error) {
  auto done = std::make_shared<
      std::promise<std::pair<boost::system::error_code, std::vector<store::stored_event>>>>();
  auto result = done->get_future();
  store_.read_page({std::nullopt, after, limit},
                   [done](boost::system::error_code ec, std::vector<store::stored_event> rows) {
                     done->set_value({ec, std::move(rows)});
                   });
  if (result.wait_for(30s) != std::future_status::ready) {
    error = "the store did not answer a read within 30 s";
    return false;
  }
  auto [ec, rows] = result.get();
  if (ec) {
    error = store_.failure().empty() ? ec.message() : store_.failure();
    return false;
  }
  out = std::move(rows);
  return true;
}

}  // namespace agg::bridge
