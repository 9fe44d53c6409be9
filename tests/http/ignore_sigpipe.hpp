#pragma once

#include <csignal>

// Boost.Test global fixture: a write to a socket the server has closed must be an error code,
// not a signal that ends the test run (Asio uses MSG_NOSIGNAL already; this covers the rest).
struct ignore_sigpipe {
  ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};
