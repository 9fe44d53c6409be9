# shellcheck shell=bash
# Helpers shared by scripts/stress and scripts/bench (sourced, not run): the build of the
# benchmark tools.

# Logging and package installation are shared with scripts/ (scripts/lib.sh).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# agg_build ROOT BUILD_DIR JOBS EXTRA_CMAKE_ARGS_STRING TARGET...: configures BUILD_DIR with
# the `bench` preset (EXTRA_CMAKE_ARGS_STRING is split on spaces and added), then builds the
# targets (incremental: a no-op when up to date).
agg_build() {
    local root=$1 dir=$2 jobs=$3 extra=$4 log
    shift 4
    log=$(mktemp)
    # The `bench` preset of CMakePresets.json (Release, benchmark tools, no tests); -B only
    # when the caller chose another folder.
    # shellcheck disable=SC2086  # extra holds several arguments on purpose
    if ! (cd "$root" && cmake --preset bench -B "$dir" $extra) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        agg_die "cmake configure failed"
    fi
    rm -f "$log"
    agg_log "building $* in $dir (-j$jobs)"
    cmake --build "$dir" -j "$jobs" --target "$@" >&2 || agg_die "build failed"
}
