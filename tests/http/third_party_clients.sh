#!/usr/bin/env bash
# GET /subscribe through clients we did not write: curl -N for Server-Sent Events and
# NDJSON, Python's `websockets` (Debian python3-websockets) for WebSocket. Starts the real
# binary ($1) on a free loopback port with a fresh database, publishes with curl and checks
# what each client printed, exactly. Python is Debian's /usr/bin/python3, which has the Debian
# package's module (a python3 earlier on PATH, e.g. pyenv's, would not).
set -euo pipefail
BINARY=${1:?usage: third_party_clients.sh AGGREGATOR_BINARY}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AGG_SCRIPT="third_party_clients"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
agg_make_tmp third_party_clients
port=$(agg_free_port)
agg_start aggregator 30 "grep -q listening \"\$log\"" -- \
    "$BINARY" --host 127.0.0.1 --port "$port" --db "$AGG_TMP/events.db"
base="http://127.0.0.1:$port"
fail=0
check() { agg_check "$@" || fail=1; }  # check WHAT EXPECTED ACTUAL
publish() {  # publish TOPIC ID
    curl -fsS -o /dev/null -H 'Content-Type: application/json' "$base/publish" --data-binary \
        "{\"topic\":\"$1\",\"event_id\":\"$2\",\"timestamp\":\"2026-11-24T10:15:00Z\",\"source\":\"curl\",\"payload\":{\"n\":1}}"
}

publish t.a one
publish t.b two

# History over SSE and NDJSON: curl -N prints what arrives; --max-time ends the follow.
sse=$(curl -sN --max-time 2 -H 'Accept: text/event-stream' "$base/subscribe?after=0&topic=t.*" || true)
check "sse: retry, then id/event/data per event" \
    "retry: 1000|id: 1|event: event|data: {\"seq\":1,\"topic\":\"t.a\",\"event_id\":\"one\"|id: 2|event: event|data: {\"seq\":2,\"topic\":\"t.b\",\"event_id\":\"two\"" \
    "$(printf '%s\n' "$sse" | sed -E 's/,"timestamp".*//' | grep -v '^$' | paste -sd'|')"
nd=$(curl -sN --max-time 2 "$base/subscribe?after=1" || true)
check "ndjson: one line per event" "2 t.b two" \
    "$(printf '%s\n' "$nd" | grep -v '^$' | /usr/bin/python3 -c 'import json,sys
for l in sys.stdin: e=json.loads(l); print(e["seq"], e["topic"], e["event_id"])')"

# Live over WebSocket: the client connects, then an event is published; it prints the
# event and then closes.
/usr/bin/python3 - "$port" >"$AGG_TMP/ws.out" 2>&1 <<'PY' &
import asyncio, json, sys
import websockets
async def main():
    async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}/subscribe?topic=live") as ws:
        print("open", flush=True)
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        print(msg["seq"], msg["topic"], msg["event_id"], flush=True)
asyncio.run(main())
PY
ws_pid=$!
agg_wait_until 10 grep -q open "$AGG_TMP/ws.out" || true
publish live three
wait "$ws_pid" || true
check "websocket (python websockets): the live event" "open|3 live three" \
    "$(paste -sd'|' "$AGG_TMP/ws.out")"

agg_stop aggregator 10
check "exit status after SIGTERM" 0 "${AGG_EXIT[aggregator]}"
exit "$fail"
