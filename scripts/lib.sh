# shellcheck shell=bash
# Shared by the scripts in scripts/ and bench/ (sourced, not run): logging and the one way
# this project installs Debian packages.

# Debian packages that building the service, its tests and agg-load needs.
# shellcheck disable=SC2034  # used by the scripts that source this file
AGG_BUILD_PACKAGES=(g++ cmake make libsqlite3-dev libboost1.81-dev libboost-json1.81-dev
                    libboost-system1.81-dev libboost-test1.81-dev libboost-program-options1.81-dev
                    libboost-url1.81-dev)

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

