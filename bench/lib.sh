# shellcheck shell=bash
# Helpers shared by scripts/stress and scripts/bench (sourced, not run).

# Debian packages that building agg-load (and the service) needs.
# shellcheck disable=SC2034  # used by the scripts that source this file
AGG_BUILD_PACKAGES=(g++ cmake make libsqlite3-dev libboost1.81-dev libboost-json1.81-dev
                    libboost-system1.81-dev libboost-test1.81-dev)

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
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update -qq \
        || agg_die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || agg_die "apt-get install ${missing[*]} failed"
}

# agg_build ROOT BUILD_DIR JOBS EXTRA_CMAKE_ARGS_STRING TARGET...: configures BUILD_DIR
# if it has no CMake cache yet (Release, tests off, benchmark tools on; EXTRA_CMAKE_ARGS_STRING
# is split on spaces and added), turns the benchmark tools on in an existing cache that has
# them off, then builds the targets (incremental: a no-op when up to date).
agg_build() {
    local root=$1 dir=$2 jobs=$3 extra=$4
    shift 4
    if [[ ! -f $dir/CMakeCache.txt ]]; then
        agg_log "configuring $dir (Release, tests off)"
        local log
        log=$(mktemp)
        # shellcheck disable=SC2086  # extra holds several arguments on purpose
        if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DAGG_BUILD_TESTS=OFF -DAGG_BUILD_BENCH=ON \
                $extra >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            agg_die "cmake configure failed"
        fi
        rm -f "$log"
    elif grep -q '^AGG_BUILD_BENCH:BOOL=OFF' "$dir/CMakeCache.txt"; then
        cmake -S "$root" -B "$dir" -DAGG_BUILD_BENCH=ON >/dev/null || agg_die "cmake configure failed"
    fi
    agg_log "building $* in $dir (-j$jobs)"
    cmake --build "$dir" -j "$jobs" --target "$@" >&2 || agg_die "build failed"
}

# agg_result_get LINE KEY: the value of KEY in a `RESULT k=v ...` line ("" if absent).
agg_result_get() {
    local line=" $1 " key=$2
    [[ $line == *" $key="* ]] || { echo ""; return; }
    line=${line#* "$key"=}
    echo "${line%% *}"
}
