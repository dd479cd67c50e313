#!/usr/bin/env bash
# Run netlab's test suite as root: set up (with the test dependencies), then pytest.
#
#   sudo scripts/test.sh                      # everything: tests/unit and tests/integration
#   sudo scripts/test.sh -x -q tests/unit     # extra arguments go to pytest
#
# With CI set, NETLAB_REQUIRE_ROOT=1 makes the run fail if any root-only test was skipped.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NETLAB_VENV:-/opt/netlab/venv}"

if [[ "$(id -u)" -ne 0 ]]; then
    printf 'ERROR: run as root (tests build real labs): sudo %s\n' "$0${*:+ $*}" >&2
    exit 1
fi

bash "$REPO/scripts/setup.sh" --test

if [[ -n "${CI:-}" ]]; then
    export NETLAB_REQUIRE_ROOT=1
fi

cd "$REPO"
# `tests` is the default; when the caller names test paths (tests/unit, a file, file::test),
# run only those — otherwise pytest would run the whole suite plus them.
targets=(tests)
for arg in "$@"; do
    if [[ "$arg" != -* && ( -e "${arg%%::*}" ) ]]; then targets=(); break; fi
done
printf '==> %s\n' "$VENV/bin/python -m pytest ${targets[*]:+${targets[*]} }-ra $*" >&2
status=0
"$VENV/bin/python" -m pytest "${targets[@]}" -ra "$@" || status=$?

if [[ "$status" -eq 5 ]]; then
    # pytest's "no tests collected": a typo in a path or -k expression must not pass silently.
    printf 'ERROR: pytest collected no tests (arguments: %s)\n' "${*:-none}" >&2
    exit 5
fi
exit "$status"
