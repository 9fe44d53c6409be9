// libFuzzer target: NDJSON bodies -> api::ndjson_lines and parse_publish (all or nothing and
// lenient) against the JSON path line by line, checking the invariants of fuzz_checks.hpp. Built by
// scripts/test-fuzz.
#include "fuzz_checks.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = agg::fuzz::check_ndjson({reinterpret_cast<const char*>(data), size});
  if (!problem.empty()) {
    std::fprintf(stderr, "ndjson invariant failed: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
