# shellcheck shell=bash
# Shared by the scripts in scripts/ and bench/ (sourced, not run): logging and the one way
# this project installs Debian packages.

# Debian packages that building the service, its tests and agg-load needs.
# shellcheck disable=SC2034  # used by the scripts that source this file
AGG_BUILD_PACKAGES=(g++ cmake make libsqlite3-dev libboost1.81-dev libboost-json1.81-dev
                    libboost-system1.81-dev libboost-test1.81-dev libboost-program-options1.81-dev
                    libboost-url1.81-dev libpq-dev zlib1g-dev libssl-dev
                    librabbitmq-dev)  # libpq: --db postgresql://; zlib: gzip bodies; libssl: TLS and --auth; librabbitmq: the RabbitMQ bridge

# What the test suite needs beside the build (scripts/test): a real Prometheus and promtool for
# the /metrics tests; curl and Python's websockets for /subscribe through third-party clients;
# the PostgreSQL 15 server for tests/pg (and the bench).
# shellcheck disable=SC2034
AGG_TEST_PACKAGES=(prometheus curl python3-websockets postgresql-15 openssl rabbitmq-server)

# What the browser test of the live page (tests/browser, ctest label `external`) needs beside
# the build: scripts/test installs them, scripts/run does not (the service needs no browser).
# shellcheck disable=SC2034  # used by the scripts that source this file
AGG_BROWSER_TEST_PACKAGES=(python3 chromium chromium-driver fonts-dejavu-core)

# The asan preset's compiler and libFuzzer for its fuzz targets (scripts/test-sanitize,
# scripts/test-fuzz).
# shellcheck disable=SC2034
AGG_SANITIZE_PACKAGES=(clang libclang-rt-14-dev)

# The container test (scripts/test-docker): the daemon, Compose v1, and debootstrap for the
# base image (no registry is reachable).
# shellcheck disable=SC2034
AGG_DOCKER_PACKAGES=(docker.io docker-compose debootstrap debian-archive-keyring)

agg_log() { printf '%s\n' "$*" >&2; }
agg_die() { printf '%s: %s\n' "${AGG_SCRIPT:-agg}" "$*" >&2; exit 2; }

# agg_ensure_packages PKG...: installs those of the Debian packages that are missing,
# with apt-get (as root, or through sudo). Does nothing when all are installed.
agg_ensure_packages() {
    command -v dpkg-query >/dev/null || return 0  # not Debian: trust the build to say what is missing
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || agg_die "missing packages: ${missing[*]} (and no apt-get)"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || agg_die "missing packages: ${missing[*]}; run as root to install them"
        sudo=(sudo)
    fi
    agg_log "installing missing packages: ${missing[*]}"
    # Check-Valid-Until=false: the mirror may be a dated snapshot whose Release files expired.
    # apt's progress goes to a log, shown only when it fails.
    local log
    log=$(mktemp)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update -qq \
        >"$log" 2>&1 || { tail -n 30 "$log" >&2; agg_die "apt-get update failed"; }
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >>"$log" 2>&1 || { tail -n 30 "$log" >&2; agg_die "apt-get install ${missing[*]} failed"; }
    rm -f "$log"
    agg_log "installed: ${missing[*]}"
}


# ---------------------------------------------------------------------------------------
# Throw-away servers: a temp folder, free loopback ports, waiting until something is ready,
# and background processes that are always stopped when the script exits. Generic on
# purpose (a command, a port, a readiness check): the aggregator, nginx and dockerd use it
# now; PostgreSQL, RabbitMQ, Prometheus or Chromium fit the same three calls, e.g.
#   port=$(agg_free_port)
#   agg_start pg 30 "pg_isready -q -h 127.0.0.1 -p $port" -- postgres -D "$AGG_TMP/pg" -p "$port" ...
#   ...                       # use it; it is stopped (SIGTERM, then SIGKILL) at exit
# Bash integer arithmetic only; times in ns come from `date +%s%N`.

# agg_on_exit COMMAND_LINE: runs COMMAND_LINE (eval'd) when the script exits, also on
# Ctrl-C or SIGTERM; the last registered runs first; $AGG_EXIT_STATUS is the exit status. Use it instead of `trap ... EXIT`,
# which would replace the cleanup of the helpers below.
AGG_EXIT_CMDS=()
agg_on_exit() {
    if ((${#AGG_EXIT_CMDS[@]} == 0)); then
        trap agg__on_exit EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
    fi
    AGG_EXIT_CMDS=("$1" "${AGG_EXIT_CMDS[@]}")
}
agg__on_exit() {
    AGG_EXIT_STATUS=$?  # the script's exit status, for the commands below
    local c
    for c in "${AGG_EXIT_CMDS[@]}"; do eval "$c" || true; done
}

# agg_make_tmp [PREFIX]: sets AGG_TMP to a new temporary folder (once per script), removed
# at exit unless AGG_KEEP_TMP=1 (then its path is printed).
AGG_TMP=""
agg_make_tmp() {
    [[ -n $AGG_TMP ]] && return 0
    AGG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/${1:-agg}.XXXXXX")
    # shellcheck disable=SC2016  # expanded at exit
    agg_on_exit 'if [[ ${AGG_KEEP_TMP:-0} == 1 ]]; then agg_log "kept $AGG_TMP"; else rm -rf "$AGG_TMP"; fi'
}

# agg_port_open PORT [HOST]: true when HOST (default 127.0.0.1) accepts a TCP connection on
# PORT now (bash's /dev/tcp, at most 2 s).
agg_port_open() {
    # shellcheck disable=SC2016  # expanded by that bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${2:-127.0.0.1}" "$1" 2>/dev/null
}

# agg_free_port: a TCP port on 127.0.0.1 that no socket of this machine uses, taken below
# the kernel's ephemeral range so that no `--port 0` server or outgoing connection can take
# it before the caller binds it.
agg_free_port() {
    local lo hi p used
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    ((lo > 11000)) || { lo=61000 && hi=65535; }  # odd range: use the top of the port space
    used=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)
    for _ in {1..200}; do
        if ((lo == 61000)); then p=$((lo + RANDOM % (hi - lo))); else p=$((10000 + RANDOM % (lo - 10000))); fi
        [[ $used == *"$(printf ':%04X ' "$p")"* ]] && continue
        agg_port_open "$p" && continue
        echo "$p"
        return 0
    done
    agg_die "no free port found"
}

# agg_wait_until SECONDS COMMAND...: runs COMMAND every 10 ms until it succeeds; false
# when SECONDS pass first.
# agg_check WHAT EXPECTED ACTUAL: logs "ok: WHAT", or "FAIL: WHAT" with both values quoted;
# returns 1 on a mismatch (test scripts count failures and go on).
agg_check() {
    if [[ $2 == "$3" ]]; then
        agg_log "ok: $1"
        return 0
    fi
    agg_log "FAIL: $1"
    agg_log "  expected: $(printf '%q' "$2")"
    agg_log "  actual:   $(printf '%q' "$3")"
    return 1
}

agg_wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || return 1
        sleep 0.01
    done
}

# agg_wait_port PORT [SECONDS] [HOST]: waits until HOST:PORT accepts connections (default
# 30 s, 127.0.0.1); false after the time limit.
agg_wait_port() { agg_wait_until "${2:-30}" agg_port_open "$1" "${3:-127.0.0.1}"; }

# agg_start NAME SECONDS READY -- COMMAND...: starts COMMAND in the background as the
# throw-away server NAME: stdin from /dev/null, stdout and stderr to $AGG_TMP/NAME.log;
# it is stopped at exit (agg_stop). Then evaluates the command line READY every 10 ms
# until it succeeds (it may use $pid and $log, e.g. 'grep -q "listening" "$log"' or
# "agg_port_open $port"; "true" for none). Fails, showing the end of the log, when
# COMMAND exits first or READY does not succeed within SECONDS (the server is then
# stopped). Sets AGG_PID[NAME], AGG_LOG[NAME], and AGG_SPAWN_NS[NAME] / AGG_READY_NS[NAME]
# (wall clock in ns just before the start and when READY first succeeded).
declare -gA AGG_PID=() AGG_LOG=() AGG_SPAWN_NS=() AGG_READY_NS=() AGG_EXIT=()
agg_start() {
    local name=$1 secs=$2 ready=$3
    shift 3
    [[ ${1:-} == -- ]] && shift
    agg_make_tmp "${AGG_SCRIPT:-agg}"
    local log="$AGG_TMP/$name.log" pid end=$((SECONDS + secs))
    mkdir -p "$(dirname "$log")"  # a NAME like formats/server-json logs in a folder of its own
    [[ -z ${AGG_PID[$name]:-} ]] || agg_die "agg_start $name: already running"
    [[ -n ${AGG_LOG[$name]:-} ]] || agg_on_exit "agg_stop $name 10"
    AGG_LOG[$name]=$log
    AGG_SPAWN_NS[$name]=$(date +%s%N)
    "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    AGG_PID[$name]=$pid
    until eval "$ready" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= end)); then
            kill -0 "$pid" 2>/dev/null && agg_log "$name: not ready after $secs s"
            agg_stop "$name" 10
            agg_log "$name: $* (exit ${AGG_EXIT[$name]}); end of $log:"
            tail -n 20 "$log" >&2
            return 1
        fi
        sleep 0.01
    done
    AGG_READY_NS[$name]=$(date +%s%N)
}

# agg_running NAME: true while the server NAME runs.
agg_running() { [[ -n ${AGG_PID[$1]:-} ]] && kill -0 "${AGG_PID[$1]}" 2>/dev/null; }

# agg_stop NAME [SECONDS] [SIGNAL]: sends SIGNAL (default TERM) to the server NAME, waits up
# to SECONDS (default 30) for it to end, then SIGKILL. Sets AGG_EXIT[NAME] to its exit status
# (128 + n when signal n ended it). Does nothing when NAME is not running.
agg_stop() {
    local name=$1 secs=${2:-30} pid=${AGG_PID[$1]:-} rc=0 end
    [[ -n $pid ]] || return 0
    end=$((SECONDS + secs))
    kill -"${3:-TERM}" "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.01; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || rc=$?
    AGG_EXIT[$name]=$rc
    AGG_PID[$name]=""
}
