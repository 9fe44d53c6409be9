#include "auth/keys_command.hpp"

#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "core/flags.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace agg::auth {
namespace {

const char* const keys_usage =
    "usage: aggregator keys add --db DB --name NAME --scopes publish,read,admin "
    "[--topics 'order.*,user.created']\n"
    "       aggregator keys list --db DB\n"
    "       aggregator keys revoke --db DB ID\n";

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

}  // namespace

int keys_command(const std::vector<std::string>& args, const std::vector<std::string>& env,
                 std::FILE* out) {
  static constexpr std::array<std::string_view, 3> words{"add", "list", "revoke"};
  const auto cmd = split_command(args, words);
  std::string db, name, scopes, topics;
  std::vector<flag> table{text_flag("db", "PATH", "SQLite file or postgresql:// URI", db, true)};
  if (cmd.command == "add") {
    table.push_back(text_flag("name", "NAME", "who or what the key is for", name, true));
    table.push_back(
        text_flag("scopes", "LIST", "comma-separated: publish, read, admin", scopes, true));
    table.push_back(text_flag("topics", "LIST", "topic patterns; default every topic", topics));
  } else if (cmd.command.empty()) {
    std::fputs(keys_usage, out);
    return args.empty() ? 2 : (args.front() == "-h" || args.front() == "--help" ? 0 : 2);
  }
  const auto found = parse_flags(table, cmd.rest, env, cmd.command == "revoke" ? 1 : 0);
  if (found.help) {
    std::fputs(keys_usage, out);
    return 0;
  }
  if (cmd.command == "add") {
    if (std::any_of(name.begin(), name.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
      throw std::invalid_argument("--name must have no spaces or control characters");
    std::string unknown;
    const auto bits = parse_scopes(scopes, &unknown);
    if (!unknown.empty()) throw std::invalid_argument("--scopes: unknown scope " + unknown);
    if (!bits) throw std::invalid_argument("--scopes: give at least one of publish, read, admin");
    std::string error;
    const auto t = parse_topic_list(topics, &error);
    if (!t) throw std::invalid_argument("--topics: " + error);
    auto store = key_store::open(db, true);
    const auto k = generate_key();
    key_record r;
    r.id = k.id;
    r.name = name;
    r.hash = k.hash;
    r.scopes = bits;
    r.topics = t->all ? "" : t->text();
    r.created = format_utc_ms(std::chrono::system_clock::now());
    store->add(r);
    std::fprintf(out, "%s\n", k.key.c_str());
    return 0;
  }
  if (cmd.command == "list") {
    auto store = key_store::open(db, true);
    for (const auto& k : store->load())
      std::fprintf(out, "%s %s %s %s %s %s %s\n", k.id.c_str(), k.name.c_str(),
                   scopes_text(k.scopes).c_str(), or_dash(k.topics).c_str(), k.created.c_str(),
                   or_dash(k.last_used).c_str(), or_dash(k.revoked).c_str());
    return 0;
  }
  if (found.positionals.size() != 1) throw std::invalid_argument("keys revoke: give the key's ID");
  auto store = key_store::open(db, true);
  if (!store->revoke(found.positionals.front(), format_utc_ms(std::chrono::system_clock::now())))
    throw std::runtime_error("no live key with id " + found.positionals.front());
  return 0;
}

}  // namespace agg::auth
