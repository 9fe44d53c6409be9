// libFuzzer target: raw bytes from a client -> Beast request_parser with the session's limits
// (header 16 KiB, body AGG_FUZZ_BODY_LIMIT or 4096), pipelined requests, api::route, the
// Content-Type rule and, for POST /publish, parse_publish with its invariants.
#include "fuzz_checks.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::size_t body_limit = agg::fuzz::body_limit_from_env();
  const std::string problem =
      agg::fuzz::check_http({reinterpret_cast<const char*>(data), size}, body_limit);
  if (!problem.empty()) {
    std::fprintf(stderr, "http invariant failed: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
