#include "api/subscriptions.hpp"

#include "api/access.hpp"
#include "core/json_text.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace agg::api {
namespace {

using message = stream_sink::message;
using clock = std::chrono::steady_clock;

// Events one history read takes: about 200 KB of typical events, written before the next read.
constexpr std::int64_t history_page = 1000;
// Events one read of newly committed ranges takes; a longer range takes several reads.
constexpr std::int64_t fetch_page = 4096;
// A failed read (the store unreachable) is tried again after this long.
constexpr std::chrono::milliseconds retry_delay{500};

message make_message(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// One event framed for a transport: an SSE event, an NDJSON line, or a WebSocket message.
message frame(const store::stored_event& e, stream_transport t) {
  std::string m;
  m.reserve(e.payload.size() + e.topic.size() + e.event_id.size() + e.source.size() + 160);
  if (t == stream_transport::sse) {
    m = "id: ";
    append_number(m, e.seq);
    m += "\nevent: event\ndata: ";
  }
  append_event_json(m, e);  // one line: JSON escapes every newline inside strings
  if (t == stream_transport::sse)
    m += "\n\n";
  else if (t == stream_transport::ndjson)
    m.push_back('\n');
  return make_message(std::move(m));
}

const message& sse_retry() {
  static const message m = make_message("retry: 1000\n\n");
  return m;
}

const message& keepalive(stream_transport t) {
  static const message sse = make_message(": keep-alive\n\n");
  static const message ndjson = make_message("\n");
  return t == stream_transport::sse ? sse : ndjson;
}

std::size_t index(stream_transport t) {
  return static_cast<std::size_t>(t);
}

}  // namespace

struct subscriptions::subscriber {
  subscriber(store::event_store& store, topic_filter f, stream_transport t, std::int64_t from)
      : following(store), filter(std::move(f)), transport(t), position(from), last_sent(from) {}

  const store::commit_follower following;  // from the start: the stream goes live after history
  const topic_filter filter;
  const stream_transport transport;

  std::mutex mu;
  std::shared_ptr<stream_sink> sink;  // guarded by mu: set when the head was written
  std::int64_t position;           // guarded by mu: every event with seq <= position was considered
  std::int64_t last_sent;          // guarded by mu: the overflow message names it
  bool live = false;               // guarded by mu: in live_, fed by the hub
  bool closed = false;             // guarded by mu: ended or gone; nothing more is sent
  bool reading = false;            // guarded by mu: a history read is in flight
  bool want_drain = false;         // guarded by mu: read on once what was sent has been written
  clock::time_point last_message;  // guarded by mu: for keep-alives
};

struct subscriptions::waiter {
  waiter(store::page_query query, std::function<void(answer)> d, boost::asio::any_io_executor ex,
         clock::time_point until)
      : q(std::move(query)), done(std::move(d)), timer(std::move(ex)), deadline(until) {}

  const store::page_query q;
  const std::function<void(answer)> done;
  boost::asio::steady_timer timer;  // guarded by the hub's mu_ while the waiter is held
  const clock::time_point deadline;
  std::shared_ptr<const auth::topic_set> allowed;   // a restricted credential: only these topics
  std::optional<store::commit_follower> following;  // guarded by the hub's mu_: once held
};

struct subscriptions::live_event {
  store::stored_event e;
  // Framed on first use, once per transport, and shared by every stream of that transport.
  std::array<message, stream_transports> framed;  // guarded by the hub's mu_
};

subscriptions::subscriptions(store::event_store& store, boost::asio::any_io_executor ex, settings s)
    : store_(store), ex_(ex), settings_(s), keepalive_timer_(ex) {
  delivered_to_ = store_.last_seq();
  notified_to_.store(delivered_to_);
  store_.add_commit_listener([this](const store::commit_notice& n) { on_commit(n); });
}

subscriptions::~subscriptions() = default;

std::array<std::size_t, stream_transports> subscriptions::open_by_transport() const noexcept {
  std::array<std::size_t, stream_transports> out{};
  for (std::size_t i = 0; i < stream_transports; ++i)
    out[i] = open_by_[i].load(std::memory_order_relaxed);
  return out;
}

void subscriptions::subscribe(subscribe_query q, stream_transport t,
                              std::function<void(answer)> done) {
  if (open_.fetch_add(1) >= settings_.max_subscribers) {
    open_.fetch_sub(1);
    return done(error_reply(errc::overloaded, "too many open streams (--max-subscribers " +
                                                  std::to_string(settings_.max_subscribers) +
                                                  "); retry later"));
  }
  open_by_[index(t)].fetch_add(1);
  if (q.after) return done(open_stream(std::move(q.filter), t, *q.after));
  // `latest`: what is committed before the head goes out; a commit racing with the read is
  // sent, never lost.
  store_.read_last_seq([this, t, f = std::move(q.filter), done = std::move(done)](
                           boost::system::error_code ec, std::int64_t last) mutable {
    if (ec) {
      open_by_[index(t)].fetch_sub(1);
      open_.fetch_sub(1);
      return done(error_reply(errc::unavailable, "the store is unreachable: " + store_.failure()));
    }
    done(open_stream(std::move(f), t, last));
  });
}

answer subscriptions::open_stream(topic_filter f, stream_transport t, std::int64_t from) {
  auto s = std::make_shared<subscriber>(store_, std::move(f), t, from);
  stream_reply r;
  r.content_type = t == stream_transport::sse ? "text/event-stream" : "application/x-ndjson";
  r.headers = {{"Cache-Control", "no-cache"}};
  r.on_open = [this, s](std::shared_ptr<stream_sink> sink) { on_open(s, std::move(sink)); };
  r.on_drained = [this, s] { on_drained(s); };
  r.on_closed = [this, s] { on_closed(s); };
  return r;
}

// --- the live side -------------------------------------------------------------------------

void subscriptions::on_commit(const store::commit_notice& n) {
  // Notices come in ascending order; this runs on the writer's thread and must not wait on
  // mu_, which a delivery to many streams holds for a while.
  notified_to_.store(n.last_seq);
  schedule_fetch();
}

void subscriptions::schedule_fetch() {
  if (!fetch_scheduled_.exchange(true)) boost::asio::post(ex_, [this] { fetch(); });
}

void subscriptions::fetch() {
  const std::int64_t target = notified_to_.load();
  std::int64_t from = 0;
  bool skip = false;
  bool again = false;
  {
    std::lock_guard lk(mu_);
    skip = live_.empty() && waiters_.empty();
    if (skip) {
      // Nobody listens: history readers find these events in the store themselves.
      delivered_to_ = std::max(delivered_to_, target);
      fetch_scheduled_.store(false);
      again = notified_to_.load() > delivered_to_;  // a notice came in meanwhile
    } else {
      from = delivered_to_;
    }
  }
  if (skip) {
    if (again) schedule_fetch();
    return;
  }
  store_.read_page(
      {std::nullopt, from, fetch_page},
      [this, target](boost::system::error_code ec, std::vector<store::stored_event> rows) {
        on_fetched(target, ec, std::move(rows));
      });
}

void subscriptions::on_fetched(std::int64_t target, boost::system::error_code ec,
                               std::vector<store::stored_event> rows) {
  if (ec) return retry_later([this] { fetch(); });  // fetch_scheduled_ stays set meanwhile
  const bool short_page = static_cast<std::int64_t>(rows.size()) < fetch_page;
  std::vector<live_event> batch(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) batch[i].e = std::move(rows[i]);
  std::vector<std::shared_ptr<waiter>> woken;
  bool again = false;
  {
    std::lock_guard lk(mu_);
    deliver(batch);
    wake_waiters(batch, woken);
    if (!batch.empty()) delivered_to_ = std::max(delivered_to_, batch.back().e.seq);
    // A short read saw everything visible when it began: up to `target` at least (a shared
    // store may leave gaps there).
    if (short_page) delivered_to_ = std::max(delivered_to_, target);
    fetch_scheduled_.store(false);
    again = notified_to_.load() > delivered_to_;
  }
  for (const auto& w : woken) answer_page(w);
  if (again) schedule_fetch();
}

void subscriptions::deliver(std::vector<live_event>& batch) {
  if (batch.empty()) return;
  const auto now = clock::now();
  // The batch's distinct topics, to tell cheaply whether a filter takes all of it (usually a
  // handful; past `few` every event is matched one by one).
  constexpr std::size_t few = 16;
  std::vector<std::string_view> topics;
  for (const auto& ev : batch) {
    if (std::find(topics.begin(), topics.end(), ev.e.topic) != topics.end()) continue;
    if (topics.size() == few) break;
    topics.push_back(ev.e.topic);
  }
  const bool few_topics = topics.size() < few;
  // SSE and NDJSON frame events back to back, so a stream that takes the whole batch gets it as
  // one message (one chunk, one entry of the socket write), shared by every such stream: the
  // per-stream cost of a commit is then one hand-over, whatever the batch holds.
  std::array<message, stream_transports> whole;
  const auto whole_batch = [&](stream_transport t) -> const message& {
    auto& w = whole[index(t)];
    if (w) return w;
    std::string m;
    for (auto& ev : batch) {
      auto& f = ev.framed[index(t)];
      if (!f) f = frame(ev.e, t);
      m += *f;
    }
    return w = make_message(std::move(m));
  };
  const auto takes_all = [&](const topic_filter& f) {
    if (f.all()) return true;
    if (few_topics)
      return std::all_of(topics.begin(), topics.end(),
                         [&](std::string_view t) { return f.matches(t); });
    return std::all_of(batch.begin(), batch.end(),
                       [&](const live_event& ev) { return f.matches(ev.e.topic); });
  };
  for (std::size_t i = 0; i < live_.size();) {
    subscriber& s = *live_[i];
    bool overflow = false;
    {
      std::lock_guard sl(s.mu);
      std::size_t bytes = s.sink->queued_bytes();
      if (s.transport != stream_transport::websocket && s.position < batch.front().e.seq &&
          takes_all(s.filter)) {
        const message& m = whole_batch(s.transport);
        if (bytes + m->size() <= settings_.buffer_bytes) {
          s.sink->send(m);
          s.position = s.last_sent = batch.back().e.seq;
          s.last_message = now;
          ++i;
          continue;
        }
        // Over the budget: the event-by-event path below sends what fits, then ends it.
      }
      std::vector<message> out;
      for (auto& ev : batch) {
        if (ev.e.seq <= s.position) continue;
        if (!s.filter.matches(ev.e.topic)) {
          s.position = ev.e.seq;
          continue;
        }
        auto& m = ev.framed[index(s.transport)];
        if (!m) m = frame(ev.e, s.transport);
        // The budget: bytes queued and not yet taken by the socket. One message always goes
        // out to a stream that has nothing queued, however large it is.
        if (bytes > 0 && bytes + m->size() > settings_.buffer_bytes) {
          overflow = true;
          break;
        }
        bytes += m->size();
        out.push_back(m);
        s.position = s.last_sent = ev.e.seq;
      }
      if (!out.empty()) {
        s.sink->send_all(std::move(out));
        s.last_message = now;
      }
      if (overflow) {
        // It resumes from last_sent and loses nothing.
        const std::string n = std::to_string(s.last_sent);
        switch (s.transport) {
          case stream_transport::sse:
            s.sink->end(make_message("event: overflow\ndata: {\"last_seq\":" + n + "}\n\n"));
            break;
          case stream_transport::ndjson:
            s.sink->end(make_message("{\"overflow\":{\"last_seq\":" + n + "}}\n"));
            break;
          case stream_transport::websocket:
            s.sink->end({}, 4001, "overflow last_seq=" + n);
            break;
        }
        s.closed = true;
        s.live = false;
      }
    }
    if (overflow) {
      live_[i] = std::move(live_.back());
      live_.pop_back();
    } else {
      ++i;
    }
  }
}

// --- one stream ----------------------------------------------------------------------------

void subscriptions::on_open(const std::shared_ptr<subscriber>& s,
                            std::shared_ptr<stream_sink> sink) {
  {
    std::lock_guard sl(s->mu);
    s->sink = std::move(sink);
    s->last_message = clock::now();
    metrics::process().subscribers(s->transport).add(1);
    if (s->transport == stream_transport::sse) s->sink->send(sse_retry());
  }
  read_history(s);
}

void subscriptions::read_history(const std::shared_ptr<subscriber>& s) {
  store::page_query q;
  {
    std::lock_guard sl(s->mu);
    if (s->closed || s->reading) return;
    s->reading = true;
    q.topic = s->filter.single_topic();
    q.after = s->position;
    q.limit = history_page;
  }
  // Taken before the read starts, so the read sees every event up to it.
  const std::int64_t visible = store_.last_seq();
  store_.read_page(std::move(q), [this, s, visible](boost::system::error_code ec,
                                                    std::vector<store::stored_event> rows) {
    on_history(s, visible, ec, std::move(rows));
  });
}

void subscriptions::on_history(const std::shared_ptr<subscriber>& s, std::int64_t visible,
                               boost::system::error_code ec,
                               std::vector<store::stored_event> rows) {
  enum { wait_for_drain, read_again, go_live } next;
  {
    std::lock_guard sl(s->mu);
    s->reading = false;
    if (s->closed) return;
    if (ec) {
      retry_later([this, s] { read_history(s); });
      return;
    }
    std::vector<message> out;
    for (const auto& e : rows) {
      if (e.seq <= s->position) continue;
      s->position = e.seq;
      if (!s->filter.matches(e.topic)) continue;
      out.push_back(frame(e, s->transport));
      s->last_sent = e.seq;
    }
    const bool full = static_cast<std::int64_t>(rows.size()) >= history_page;
    if (!full) s->position = std::max(s->position, visible);
    if (!out.empty()) {
      // History is paced by the socket: read on (or go live) once this has been written,
      // so a stream joins the live set with nothing queued.
      s->sink->send_all(std::move(out));
      s->last_message = clock::now();
      s->want_drain = true;
      next = wait_for_drain;
    } else {
      next = full ? read_again : go_live;
    }
  }
  if (next == read_again) read_history(s);
  if (next == go_live) try_go_live(s);
}

void subscriptions::try_go_live(const std::shared_ptr<subscriber>& s) {
  {
    std::lock_guard lk(mu_);
    std::lock_guard sl(s->mu);
    if (s->closed) return;
    if (delivered_to_ <= s->position) {
      // Every later delivery holds only seqs above delivered_to_: no gap, no repeat.
      s->live = true;
      live_.push_back(s);
      arm_keepalive();
      return;
    }
  }
  read_history(s);  // the hub moved on while the history was read: read the difference
}

void subscriptions::on_drained(const std::shared_ptr<subscriber>& s) {
  {
    std::lock_guard sl(s->mu);
    if (!s->want_drain) return;
    s->want_drain = false;
  }
  read_history(s);
}

void subscriptions::on_closed(const std::shared_ptr<subscriber>& s) {
  std::lock_guard lk(mu_);
  std::lock_guard sl(s->mu);
  s->closed = true;
  if (s->sink) metrics::process().subscribers(s->transport).sub(1);  // it was opened
  s->sink.reset();
  if (s->live) {
    s->live = false;
    const auto it = std::find(live_.begin(), live_.end(), s);
    if (it != live_.end()) {
      *it = std::move(live_.back());
      live_.pop_back();
    }
  }
  open_by_[index(s->transport)].fetch_sub(1);
  open_.fetch_sub(1);
}

void subscriptions::arm_keepalive() {
  if (keepalive_armed_ || stopped_) return;
  keepalive_armed_ = true;
  // A quarter of the keep-alive interval: a keep-alive goes out at most 25% late.
  const auto tick = std::clamp(settings_.keepalive / 4, std::chrono::milliseconds(10),
                               std::chrono::milliseconds(1000));
  keepalive_timer_.expires_after(tick);
  keepalive_timer_.async_wait([this](boost::system::error_code ec) { on_keepalive_tick(ec); });
}

void subscriptions::on_keepalive_tick(boost::system::error_code ec) {
  if (ec) return;  // cancelled by stop()
  std::lock_guard lk(mu_);
  keepalive_armed_ = false;
  const auto now = clock::now();
  for (const auto& s : live_) {
    std::lock_guard sl(s->mu);
    // WebSocket streams have Beast's pings instead.
    if (s->closed || s->transport == stream_transport::websocket) continue;
    if (now - s->last_message < settings_.keepalive || s->sink->queued_bytes() > 0) continue;
    s->sink->send(keepalive(s->transport));
    s->last_message = now;
  }
  if (!live_.empty()) arm_keepalive();
}

void subscriptions::retry_later(std::function<void()> f) {
  auto t = std::make_shared<boost::asio::steady_timer>(ex_, retry_delay);
  t->async_wait([t, f = std::move(f)](boost::system::error_code ec) {
    if (!ec) f();
  });
}

// --- long-poll -----------------------------------------------------------------------------

void subscriptions::long_poll(store::page_query q, std::chrono::seconds wait,
                              boost::asio::any_io_executor ex, std::function<void(answer)> done,
                              std::shared_ptr<const auth::topic_set> allowed) {
  auto w =
      std::make_shared<waiter>(std::move(q), std::move(done), std::move(ex), clock::now() + wait);
  w->allowed = std::move(allowed);
  poll_once(std::move(w));
}

void subscriptions::read_waiter_page(const std::shared_ptr<waiter>& w,
                                     store::event_store::page_handler done) {
  auto q = w->q;
  if (w->allowed) return read_allowed_page(store_, std::move(q), w->allowed, std::move(done));
  store_.read_page(std::move(q), std::move(done));
}

void subscriptions::poll_once(std::shared_ptr<waiter> w) {
  std::int64_t seen = 0;
  {
    std::lock_guard lk(mu_);
    seen = delivered_to_;
  }
  read_waiter_page(
      w, [this, w, seen](boost::system::error_code ec, std::vector<store::stored_event> rows) {
        if (ec || !rows.empty()) return w->done(page_reply(ec, rows));
        bool retry = false;
        bool now_empty = false;
        {
          std::lock_guard lk(mu_);
          if (stopped_ || clock::now() >= w->deadline) {
            now_empty = true;
          } else if (delivered_to_ > seen) {
            retry = true;  // events came in during the read: they may match
          } else {
            // Every later event is delivered above `seen` and wakes this waiter if it matches.
            if (!w->following) w->following.emplace(store_);
            waiters_.push_back(w);
            w->timer.expires_at(w->deadline);
            w->timer.async_wait([this, w](boost::system::error_code e) {
              if (!e) on_wait_timeout(w);
            });
          }
        }
        if (now_empty) w->done(page_reply({}, {}));
        if (retry) poll_once(w);
      });
}

void subscriptions::wake_waiters(const std::vector<live_event>& batch,
                                 std::vector<std::shared_ptr<waiter>>& woken) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    const auto& q = (*it)->q;
    const bool match = std::any_of(batch.begin(), batch.end(), [&](const live_event& ev) {
      return ev.e.seq > q.after && (!q.topic || *q.topic == ev.e.topic) &&
             (!(*it)->allowed || (*it)->allowed->allows(ev.e.topic));
    });
    if (!match) {
      ++it;
      continue;
    }
    (*it)->timer.cancel();
    woken.push_back(std::move(*it));
    it = waiters_.erase(it);
  }
}

void subscriptions::answer_page(const std::shared_ptr<waiter>& w) {
  read_waiter_page(w, [w](boost::system::error_code ec, std::vector<store::stored_event> rows) {
    w->done(page_reply(ec, rows));
  });
}

void subscriptions::on_wait_timeout(const std::shared_ptr<waiter>& w) {
  {
    std::lock_guard lk(mu_);
    const auto it = std::find(waiters_.begin(), waiters_.end(), w);
    if (it == waiters_.end()) return;  // woken by an event meanwhile
    waiters_.erase(it);
  }
  w->done(page_reply({}, {}));
}

void subscriptions::stop() {
  std::list<std::shared_ptr<waiter>> held;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    keepalive_timer_.cancel();
    held.swap(waiters_);
    for (const auto& w : held) w->timer.cancel();
  }
  for (const auto& w : held) w->done(page_reply({}, {}));
}

}  // namespace agg::api
