// libFuzzer target: "<Content-Type>\\n<Content-Encoding>\\n<Prefer>\\n<body>" ->
// decide_body_format, body_decoder (whole and in pieces), parse_publish, checking the invariants of
// fuzz_checks.hpp. Built by scripts/test-fuzz.
#include "fuzz_checks.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = agg::fuzz::check_decoder({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "decoder invariant failed: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
