#!/usr/bin/env bash
# The first lab, end to end (run as root): set up netlab, create seed article 000's lab
# (pod-a behind the Service pod-service, pod-b as a client), and call the Service from pod-b.
# Every command is printed before it runs, so you can type it yourself next time.
#
#   sudo scripts/quickstart.sh
#
# NETLAB_CLUSTER picks another lab name (default: netlab), as for every netlab command.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEADLINE_SECONDS=30
export PATH="/usr/local/bin:$PATH"  # where setup.sh links netlab

show() {
    # `+ command` on stderr, like `set -x`, but only for the commands a reader should learn.
    printf '\n+ %s\n' "$*" >&2
    "$@"
}

if [[ "$(id -u)" -ne 0 ]]; then
    printf 'ERROR: run as root (it installs netlab and builds a lab): sudo %s\n' "$0${*:+ $*}" >&2
    exit 1
fi

bash "$REPO/scripts/setup.sh"
cd "$REPO"

show netlab apply -f manifests/quickstart/

# The web server in pod-a and the Service rules need a moment after apply; poll until the
# Service answers (each try is bounded by curl's own 2 s timeout).
printf '\n+ netlab exec pod-b -- curl -s -m 2 pod-service   # retried for up to %ss\n' "$DEADLINE_SECONDS" >&2
deadline=$((SECONDS + DEADLINE_SECONDS))
until answer="$(netlab exec pod-b -- curl -s -m 2 pod-service 2>/dev/null)"; do
    if ((SECONDS >= deadline)); then
        printf '\nERROR: pod-b could not reach pod-service within %ss. What netlab sees:\n' "$DEADLINE_SECONDS" >&2
        netlab get pods -o wide >&2 || true
        netlab describe svc pod-service >&2 || true
        netlab logs pod-a --tail 20 >&2 || true
        printf '\nTry it by hand: sudo netlab exec pod-b -- curl -v -m 2 pod-service\n' >&2
        exit 1
    fi
    sleep 0.2  # poll interval, not a synchronisation delay: the deadline above bounds the wait
done

printf '%s\n' "$answer"

show netlab get pods -o wide

cat >&2 <<'EOF'

The lab is up: pod-b reached pod-a through the Service's cluster IP, by name.
Try next:
  sudo netlab exec pod-b -- dig +short pod-service.default.svc.cluster.local
  sudo netlab describe svc pod-service        # the iptables chains behind the Service
  sudo netlab exec pod-b -- ip route          # the pod's own network namespace
When you are done (removes every netlab lab on this machine):
  sudo netlab reset
EOF
