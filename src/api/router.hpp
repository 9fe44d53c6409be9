#pragma once

#include "api/responses.hpp"

#include <boost/beast/http/verb.hpp>

#include <string_view>
#include <variant>

namespace agg::api {

// What a request is for, once its method and path are known.
// `page`: the live page's static files, "/" and "/ui/..." (static_files.hpp).
enum class endpoint { publish, events, subscribe, stats, health, metrics, page };

// Pure: the endpoint for (method, path), or the 404 / 405 (with Allow) reply.
// GET and HEAD are allowed on the read endpoints and the page, POST on /publish, GET on
// /subscribe (a stream has no head-only form).
std::variant<endpoint, reply> route(boost::beast::http::verb method, std::string_view path);

}  // namespace agg::api
