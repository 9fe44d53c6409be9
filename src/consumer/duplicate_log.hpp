#pragma once

#include "consumer/publish_job.hpp"
#include "core/log.hpp"

#include <memory>
#include <string>
#include <vector>

namespace agg::consumer {

// Appends one line per dropped copy of `jobs` (already committed) to `out`: duplicates when
// `duplicates` (info level), conflicts when `conflicts` (warn level). The caller writes them
// after the commit, so a failed batch logs nothing.
void append_duplicate_lines(const std::vector<std::shared_ptr<publish_job>>& jobs, bool duplicates,
                            bool conflicts, std::string& out);

}  // namespace agg::consumer
