#pragma once

#include "api/responses.hpp"
#include "api/stream.hpp"

#include <string>
#include <string_view>

namespace agg::ingest {

// HTTP/1.x framing of the service's answers, as bytes. Pure functions.

// A complete response: status line, Server, Content-Type, Content-Length, Allow /
// Retry-After / other headers when set, Connection when it differs from the version's
// default, then the body (left out for HEAD, with the GET body's Content-Length).
// version is 10 or 11.
std::string serialize_reply(const api::reply& r, unsigned version, bool keep_alive, bool head);

// The head of a stream answer. HTTP/1.1: chunked transfer encoding, the connection stays
// usable after the last chunk. HTTP/1.0 has no chunks: the body is the raw messages and
// ends when the connection closes.
std::string serialize_stream_head(const api::stream_reply& r, unsigned version, bool keep_alive);

// One message as a chunk ("<hex size>\r\n" before, "\r\n" after); the message itself is
// written from its own buffer, never copied.
std::string chunk_prefix(std::size_t size);
inline constexpr std::string_view chunk_suffix = "\r\n";
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace agg::ingest
