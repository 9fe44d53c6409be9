#pragma once

#include "api/responses.hpp"

#include <boost/beast/http/verb.hpp>

#include <string_view>
#include <variant>

namespace agg::api {

// What a request is for, once its method and path are known.
enum class endpoint { publish, events, stats, health, metrics };

// Pure: the endpoint for (method, path), or the 404 / 405 (with Allow) reply.
// GET and HEAD are allowed on the read endpoints, POST on /publish.
std::variant<endpoint, reply> route(boost::beast::http::verb method, std::string_view path);

}  // namespace agg::api
