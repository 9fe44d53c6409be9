#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace agg::ingest {

// Time a client has to send a whole request (also the keep-alive idle limit), to take a whole
// answer or one message of a stream, and to finish a WebSocket handshake; a slowloris client
// is dropped after it.
inline constexpr std::chrono::seconds io_timeout{30};
// Time a client has to finish the TLS handshake after connecting (a handshake is a few round
// trips; a client that says nothing, or speaks plain HTTP to a TLS port, is closed).
inline constexpr std::chrono::seconds tls_handshake_timeout{10};
// After a stop began, how long a request already on its way may take to arrive whole.
inline constexpr std::chrono::seconds drain_read_timeout{2};
// After a stop began, how long an idle connection is watched for a request that was already
// on its way before it is closed (the reactor may have read it without handing it over yet).
inline constexpr std::chrono::milliseconds idle_close_delay{200};
// How long a closing connection keeps draining what the client still sends.
inline constexpr std::chrono::seconds linger_timeout{2};
// Largest request line + headers; larger is 431.
inline constexpr std::uint32_t header_limit = 16 * 1024;
// Beast reads at most the read buffer's free room per system call (512 bytes when it is
// empty), so a buffer that stays small reads a large body ~512 bytes at a time, with a
// recvmsg, a timer update and a wake-up each (measured: 676 recvmsg for a 330 KB body). A
// request is read with at least request_read_room free, which takes a single event's request
// whole; a large body with up to body_read_room, released once the request is read.
inline constexpr std::size_t request_read_room = 4 * 1024;
inline constexpr std::size_t body_read_room = 64 * 1024;

}  // namespace agg::ingest
