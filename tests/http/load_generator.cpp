#include "load_generator.hpp"

#include <boost/beast/http/verb.hpp>

#include <random>
#include <utility>

namespace agg::test {

load_generator::load_generator(std::string host, std::uint16_t port, options opt)
    : host_(std::move(host)), port_(port), opt_(std::move(opt)) {}

load_generator::~load_generator() {
  stop();
}

json::object load_generator::event_for(event_key const& key) {
  return make_event(key.first, key.second, {{"id", key.second}, {"amount", 12.5}},
                    "2026-11-24T10:15:00Z", "load");
}

void load_generator::start() {
  stop_ = false;
  per_thread_.assign(opt_.threads, outcome{});
  for (std::size_t i = 0; i < opt_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

void load_generator::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  if (threads_.empty()) return;
  threads_.clear();
  result_ = outcome{};
  for (auto& o : per_thread_) {
    result_.ok_requests += o.ok_requests;
    result_.io_errors += o.io_errors;
    result_.unexpected.insert(result_.unexpected.end(), o.unexpected.begin(), o.unexpected.end());
    result_.received += o.received;
    result_.accepted += o.accepted;
    result_.duplicates += o.duplicates;
    result_.acked.insert(o.acked.begin(), o.acked.end());
    result_.sent.insert(o.sent.begin(), o.sent.end());
  }
}

void load_generator::run(std::size_t index) {
  outcome local;
  std::vector<event_key> mine;  // this thread's keys, in send order
  std::mt19937 rng(static_cast<std::mt19937::result_type>(index * 7919 + 17));
  std::size_t next_id = 0;
  http_client client(host_, port_, opt_.request_timeout);

  while (!stop_.load()) {
    std::vector<event_key> batch;
    std::size_t const resends =
        mine.empty() ? 0 : std::min(opt_.resends_per_batch, opt_.batch_size);
    for (std::size_t i = 0; i < resends; ++i)
      batch.push_back(mine[std::uniform_int_distribution<std::size_t>(0, mine.size() - 1)(rng)]);
    while (batch.size() < opt_.batch_size) {
      std::string id = opt_.id_prefix + "-" + std::to_string(index) + "-" + std::to_string(next_id);
      std::string topic = opt_.topics[next_id % opt_.topics.size()];
      ++next_id;
      batch.emplace_back(std::move(topic), std::move(id));
      mine.push_back(batch.back());
    }
    std::vector<json::object> events;
    for (auto const& k : batch) {
      events.push_back(event_for(k));
      local.sent.insert(k);
    }

    http_response r;
    auto ec = client.try_request(boost::beast::http::verb::post, "/publish", array_body(events),
                                 {{"Content-Type", "application/json"}}, r);
    if (ec) {
      ++local.io_errors;
      client.close();
      std::this_thread::sleep_for(opt_.retry_pause);
      continue;
    }
    if (r.status != 200) {
      local.unexpected.push_back("status " + std::to_string(r.status) + ": " +
                                 r.body.substr(0, 300));
      std::this_thread::sleep_for(opt_.retry_pause);
      continue;
    }
    try {
      auto const doc = r.json();
      auto const& body = as_object(doc);
      auto const& results = as_array(at(body, "results"));
      if (results.size() != batch.size()) throw std::runtime_error("results size");
      std::int64_t accepted = 0, duplicates = 0;
      for (std::size_t i = 0; i < results.size(); ++i) {
        auto const& o = as_object(results[i]);
        if (key_of(o) != batch[i]) throw std::runtime_error("results out of request order");
        auto status = as_string(at(o, "status"));
        if (status == "accepted")
          ++accepted;
        else if (status == "duplicate")
          ++duplicates;
        else
          throw std::runtime_error("status " + status);
      }
      if (as_int(at(body, "received")) != static_cast<std::int64_t>(batch.size()) ||
          as_int(at(body, "accepted")) != accepted || as_int(at(body, "duplicates")) != duplicates)
        throw std::runtime_error("counts do not match results");
      local.received += static_cast<std::int64_t>(batch.size());
      local.accepted += accepted;
      local.duplicates += duplicates;
      local.acked.insert(batch.begin(), batch.end());
      ++local.ok_requests;
      ++ok_requests_;
    } catch (std::exception const& e) {
      local.unexpected.push_back(std::string("bad 200 answer (") + e.what() +
                                 "): " + r.body.substr(0, 300));
    }
  }
  std::lock_guard lock(mu_);
  per_thread_[index] = std::move(local);
}

}  // namespace agg::test
