#!/usr/bin/env bash
# --tls-cert/--tls-key through clients we did not write: the openssl CLI (s_client) for the
# protocol versions, ciphers and the certificate a new connection sees; curl for HTTPS
# (publish, /events, long-poll, /stats, /health, an SSE stream); Python's websockets (Debian
# python3-websockets, over Python's ssl module) for wss://. Certificates are self-signed ones
# made here with the openssl CLI. Starts the real binary ($1) on a free loopback port with a
# fresh database and checks exactly what each client saw; then SIGHUP rotation (an open SSE
# stream keeps receiving, a new connection sees the new certificate), bad files at SIGHUP (the
# old pair stays) and at start (exit 1, one line); a silent client does not hold up SIGTERM. ~8 s.
set -euo pipefail
BINARY=${1:?usage: tls_clients.sh AGGREGATOR_BINARY}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AGG_SCRIPT="tls_clients"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
agg_make_tmp tls_clients
T=$AGG_TMP
fail=0
check() { agg_check "$@" || fail=1; }  # check WHAT EXPECTED ACTUAL

# Two self-signed pairs (P-256: quick to make), valid for 127.0.0.1.
make_pair() {  # make_pair NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=agg-test-$1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
make_pair a
make_pair b

# --- start-up errors: exit 1 and one line on stderr ---
start_error() {  # start_error ARGS...: "<exit status>|<stderr lines joined by |>"
    local rc=0
    "$BINARY" --host 127.0.0.1 --port 0 --db "$T/bad.db" "$@" >"$T/start.out" 2>&1 </dev/null || rc=$?
    printf '%s|%s' "$rc" "$(paste -sd'|' "$T/start.out")"
}
check "start: --tls-cert without --tls-key" \
    "1|error: --tls-cert and --tls-key go together: give both or neither" \
    "$(start_error --tls-cert "$T/a.crt")"
check "start: missing certificate file" \
    "1|error: cannot load --tls-cert $T/missing.crt: No such file or directory" \
    "$(start_error --tls-cert "$T/missing.crt" --tls-key "$T/a.key")"
printf 'not a certificate\n' >"$T/junk.pem"
check "start: a file that is no PEM certificate" \
    "1|error: cannot load --tls-cert $T/junk.pem: no start line" \
    "$(start_error --tls-cert "$T/junk.pem" --tls-key "$T/a.key")"
check "start: a key that is no PEM key" \
    "1|error: cannot load --tls-key $T/junk.pem: unsupported" \
    "$(start_error --tls-cert "$T/a.crt" --tls-key "$T/junk.pem")"
check "start: key of another certificate" \
    "1|error: --tls-key $T/b.key does not match --tls-cert $T/a.crt" \
    "$(start_error --tls-cert "$T/a.crt" --tls-key "$T/b.key")"

# --- serving with pair a (files the rotation below overwrites) ---
cp "$T/a.crt" "$T/cert.pem"
cp "$T/a.key" "$T/key.pem"
port=$(agg_free_port)
agg_start aggregator 30 "grep -q listening \"\$log\"" -- \
    "$BINARY" --host 127.0.0.1 --port "$port" --db "$T/events.db" --tls-cert "$T/cert.pem" \
    --tls-key "$T/key.pem"
log=${AGG_LOG[aggregator]}
base="https://127.0.0.1:$port"

# A live SSE stream opened with pair a; it must keep streaming through the rotations below.
curl -sSN --max-time 30 --cacert "$T/a.crt" -H 'Accept: text/event-stream' \
    "$base/subscribe?topic=live.*" >"$T/sse.out" 2>"$T/sse.err" &
sse_pid=$!
# And a wss:// stream (Python's websockets over Python's ssl), also opened before the rotation.
/usr/bin/python3 - "$port" "$T/a.crt" >"$T/ws.out" 2>&1 <<'PY' &
import asyncio, json, ssl, sys
import websockets
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(f"wss://127.0.0.1:{sys.argv[1]}/subscribe?topic=live.*", ssl=ctx) as ws:
        print("open", flush=True)
        for _ in range(3):
            msg = json.loads(await asyncio.wait_for(ws.recv(), 20))
            print(msg["seq"], msg["topic"], msg["event_id"], flush=True)
asyncio.run(main())
PY
ws_pid=$!

# s_client's one-line summary of a handshake: "<exit>|<protocol>|<cipher>".
handshake() {  # handshake S_CLIENT_ARGS...
    local rc=0 out
    out=$(timeout 10 openssl s_client -brief -connect "127.0.0.1:$port" "$@" </dev/null 2>&1) || rc=$?
    printf '%s|%s|%s' "$rc" "$(sed -n 's/^Protocol version: //p' <<<"$out")" \
        "$(sed -n 's/^Ciphersuite: //p' <<<"$out")"
}
check "TLS 1.3 accepted" "0|TLSv1.3|TLS_AES_256_GCM_SHA384" "$(handshake -tls1_3)"
check "TLS 1.2 accepted, ECDHE + AES-GCM" "0|TLSv1.2|ECDHE-ECDSA-AES256-GCM-SHA384" "$(handshake -tls1_2)"
check "TLS 1.2 ChaCha20-Poly1305" "0|TLSv1.2|ECDHE-ECDSA-CHACHA20-POLY1305" \
    "$(handshake -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)"
# The client allows the old versions and weak suites (SECLEVEL=0), so the refusal is the server's.
check "TLS 1.1 refused by the server" "1||" "$(handshake -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')"
check "TLS 1.0 refused by the server" "1||" "$(handshake -tls1 -cipher 'DEFAULT@SECLEVEL=0')"
check "TLS 1.2 without AEAD (AES-CBC) refused" "1||" \
    "$(handshake -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA@SECLEVEL=0')"
check "TLS 1.2 without forward secrecy (static RSA) refused" "1||" \
    "$(handshake -tls1_2 -cipher 'AES128-GCM-SHA256@SECLEVEL=0')"

# s_client's "R" asks for a TLS 1.2 renegotiation: the server refuses it with an alert.
check "TLS 1.2 renegotiation refused" "no renegotiation" \
    "$( (sleep 0.3; echo R; sleep 0.7) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 2>&1 |
        grep -o 'no renegotiation' | head -n 1)"

cert_of_new_connection() {  # the subject of what the server presents now
    timeout 10 openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null || true
}
check "the certificate" "subject=CN = agg-test-a" "$(cert_of_new_connection)"

# Plain HTTP to the TLS port: the connection is closed (no answer), and the server goes on.
rc=0
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" 2>/dev/null) || rc=$?
check "plain HTTP to the TLS port gets no HTTP answer" "52|000" "$rc|$code"

https() {  # https CA_NAME CURL_ARGS...: curl over TLS trusting CA_NAME's certificate only
    local ca=$1
    shift
    curl -sS --max-time 10 --cacert "$T/$ca.crt" "$@"
}
check "/health over https" '200|{"status":"ok"}' \
    "$(https a -w '%{http_code}|' -o "$T/h.out" "$base/health"; cat "$T/h.out")"
check "http version and TLS in curl's view" "1.1" "$(https a -o /dev/null -w '%{http_version}' "$base/health")"

publish() {  # publish CA_NAME TOPIC ID: prints the answer's "status results[0].status seq"
    https "$1" -H 'Content-Type: application/json' -w '%{http_code}' -o "$T/p.out" "$base/publish" \
        --data-binary "{\"topic\":\"$2\",\"event_id\":\"$3\",\"timestamp\":\"2026-11-24T10:15:00Z\",\"source\":\"curl\",\"payload\":{\"n\":1}}"
    /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); x=r["results"][0]; print("", x["status"], x["seq"])' "$T/p.out"
}
events() {  # events QUERY: "seq topic event_id" per event, joined by |
    https a "$base/events?$1" | /usr/bin/python3 -c 'import json,sys
r=json.load(sys.stdin); print("|".join("%d %s %s" % (e["seq"], e["topic"], e["event_id"]) for e in r["events"]))'
}
check "publish over https" "200 accepted 1" "$(publish a t.a one)"
check "the same event again: duplicate" "200 duplicate 1" "$(publish a t.a one)"
check "/events over https" "1 t.a one" "$(events 'after=0')"

# Long-poll over TLS: held until the next publish.
https a "$base/events?after=1&wait=10" >"$T/poll.out" &
poll_pid=$!
sleep 0.2
agg_wait_until 10 grep -q '^retry: 1000' "$T/sse.out" || true
agg_wait_until 10 grep -q open "$T/ws.out" || true
check "publish live.1" "200 accepted 2" "$(publish a live.1 two)"
wait "$poll_pid" || true
check "long-poll over https: answered by the publish" "2 live.1 two" \
    "$(/usr/bin/python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); print("|".join("%d %s %s" % (e["seq"], e["topic"], e["event_id"]) for e in r["events"]))' "$T/poll.out")"

sse_ids() { grep '^id: ' "$T/sse.out" | cut -d' ' -f2 | paste -sd' '; }
agg_wait_until 5 grep -q '^id: 2$' "$T/sse.out" || true
check "SSE over https: the live event" "2" "$(sse_ids)"

# --- SIGHUP: rotate to pair b ---
cp "$T/b.crt" "$T/cert.pem"
cp "$T/b.key" "$T/key.pem"
kill -HUP "${AGG_PID[aggregator]}"
agg_wait_until 5 grep -q '^tls_reloaded' "$log" || true
check "SIGHUP logs the reload" "tls_reloaded cert=$T/cert.pem" "$(grep '^tls_reload' "$log" | paste -sd'|')"
check "a new connection sees the new certificate" "subject=CN = agg-test-b" "$(cert_of_new_connection)"
check "curl trusting only the old certificate is refused now" "60" \
    "$(https a -o /dev/null "$base/health" 2>/dev/null && echo 0 || echo $?)"
check "publish with the new certificate" "200 accepted 3" "$(publish b live.2 three)"
agg_wait_until 5 grep -q '^id: 3$' "$T/sse.out" || true
check "the SSE stream opened before SIGHUP keeps receiving" "2 3" "$(sse_ids)"

# --- SIGHUP with bad files: logged, the pair b stays ---
printf 'garbage\n' >"$T/cert.pem"
kill -HUP "${AGG_PID[aggregator]}"
agg_wait_until 5 grep -q '^tls_reload_failed' "$log" || true
check "a bad certificate at SIGHUP is logged" \
    "tls_reload_failed error=\"cannot load --tls-cert $T/cert.pem: no start line\" kept=\"previous certificate and key\" level=error" \
    "$(grep '^tls_reload_failed' "$log" | paste -sd'|')"
check "a new connection still sees the kept certificate" "subject=CN = agg-test-b" "$(cert_of_new_connection)"
cp "$T/a.crt" "$T/cert.pem"  # the key file still holds b's key: a mismatched pair
kill -HUP "${AGG_PID[aggregator]}"
agg_wait_until 5 test "$(grep -c '^tls_reload_failed' "$log")" -ge 2 || true
check "a mismatched pair at SIGHUP is logged" \
    "tls_reload_failed error=\"--tls-key $T/key.pem does not match --tls-cert $T/cert.pem\" kept=\"previous certificate and key\" level=error" \
    "$(grep '^tls_reload_failed' "$log" | sed -n 2p)"
check "still the kept certificate" "subject=CN = agg-test-b" "$(cert_of_new_connection)"
check "publish after the failed reloads" "200 accepted 4" "$(publish b live.3 four)"
agg_wait_until 5 grep -q '^id: 4$' "$T/sse.out" || true
check "the SSE stream is still there" "2 3 4" "$(sse_ids)"
wait "$ws_pid" || true
check "wss:// (python websockets) through both reloads" "open|2 live.1 two|3 live.2 three|4 live.3 four" \
    "$(paste -sd'|' "$T/ws.out")"
check "/stats over https" "4 0 1 live.1,live.2,live.3,t.a" \
    "$(https b "$base/stats" | /usr/bin/python3 -c 'import json,sys
r=json.load(sys.stdin); print(r["unique_processed"], r["conflicts"], r["duplicate_dropped"], ",".join(r["topics"]))')"

# Nothing of the keys in the log: no PEM line of either key file.
leaked=0
for k in a b; do
    while read -r line; do
        [[ $line == -----* ]] && continue
        grep -qF -- "$line" "$log" && leaked=1
    done <"$T/$k.key"
done
check "no key material in the log" "0|0" "$leaked|$(grep -c 'PRIVATE KEY' "$log" || true)"

# A client that connected but never starts its handshake does not hold up the stop (the
# drain would otherwise wait out its 5 s grace period for it).
exec 5<>"/dev/tcp/127.0.0.1/$port"
sleep 0.1
t0=$SECONDS
agg_stop aggregator 10
check "exit status after SIGTERM" 0 "${AGG_EXIT[aggregator]}"
check "the stop did not wait for the silent client" 1 "$(( SECONDS - t0 < 4 ))"
exec 5>&-
rc=0
wait "$sse_pid" || rc=$?
check "the SSE stream ended by the stop (curl saw a complete body)" "0|" "$rc|$(cat "$T/sse.err")"
exit "$fail"
