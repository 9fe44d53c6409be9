#pragma once

// Command-line helpers shared by the benchmark tools (agg-load, bench-sqlite-append).

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace agg_bench {

// Prints "<tool>: <msg>" and a pointer to --help on stderr, then exits 2 (bad usage).
[[noreturn]] inline void usage_error(std::string_view tool, const std::string& msg) {
  std::cerr << tool << ": " << msg << "\n(see " << tool << " --help)\n";
  std::exit(2);
}

// The whole of `text` as a number of type T, or a usage error naming the option.
template <class T>
T parse_number(std::string_view tool, std::string_view name, std::string_view text) {
  T value{};
  const auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (res.ec != std::errc{} || res.ptr != text.data() + text.size())
    usage_error(tool, "bad value for " + std::string(name) + ": '" + std::string(text) + "'");
  return value;
}

}  // namespace agg_bench
