#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace agg::auth {

// `aggregator keys add|list|revoke ...` (args after the word "keys"), against --db while nodes
// may be serving it:
//   add --db DB --name NAME --scopes publish,read [--topics 'order.*,user.created']
//       prints the new key alone on one line, once; only its SHA-256 is stored
//   list --db DB     one line per key: id name scopes topics created last_used revoked ("-")
//   revoke --db DB ID
// Returns the exit code; throws std::invalid_argument / std::runtime_error with one line.
int keys_command(const std::vector<std::string>& args, const std::vector<std::string>& env,
                 std::FILE* out);

}  // namespace agg::auth
