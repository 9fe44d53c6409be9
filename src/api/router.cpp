#include "api/router.hpp"

namespace agg::api {

namespace http = boost::beast::http;

std::variant<endpoint, reply> route(http::verb method, std::string_view path) {
  const bool read = method == http::verb::get || method == http::verb::head;
  auto not_allowed = [](const char* allow) {
    reply r =
        error_reply(errc::method_not_allowed, std::string("method not allowed; use ") + allow);
    r.allow = allow;
    return r;
  };
  if (path == "/publish") {
    if (method == http::verb::post) return endpoint::publish;
    return not_allowed("POST");
  }
  if (path == "/subscribe") {
    if (method == http::verb::get) return endpoint::subscribe;
    return not_allowed("GET");
  }
  endpoint ep;
  if (path == "/events")
    ep = endpoint::events;
  else if (path == "/stats")
    ep = endpoint::stats;
  else if (path == "/health")
    ep = endpoint::health;
  else if (path == "/metrics")
    ep = endpoint::metrics;
  else if (path == "/" || path == "/ui" || path.starts_with("/ui/"))
    ep = endpoint::page;  // an unknown file under /ui/ is the service's 404
  else
    return error_reply(errc::not_found,
                       "no such endpoint; see /publish, /events, /subscribe, /stats, /health, "
                       "/metrics and the live page at /");
  if (!read) return not_allowed("GET, HEAD");
  return ep;
}

}  // namespace agg::api
