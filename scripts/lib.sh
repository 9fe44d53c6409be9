# shellcheck shell=bash
# Shared by the scripts in scripts/ (sourced, not run): package installation and logging.
# The definitions live in bench/lib.sh, which the benchmark scripts share too.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bench/lib.sh"
