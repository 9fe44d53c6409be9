#pragma once

#include <chrono>
#include <string>

namespace agg {

// "2026-11-24T10:15:00.456Z": UTC with milliseconds, the format of received_at and started_at.
std::string format_utc_ms(std::chrono::system_clock::time_point t);

}  // namespace agg
