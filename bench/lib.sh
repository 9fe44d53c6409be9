# shellcheck shell=bash
# Helpers shared by scripts/stress and scripts/bench (sourced, not run): the build of the
# benchmark tools.

# Logging and package installation are shared with scripts/ (scripts/lib.sh).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

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
