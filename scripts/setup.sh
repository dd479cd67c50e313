#!/usr/bin/env bash
# Set up netlab on Debian 12 / Ubuntu 22.04+ (run as root): system tools, a Python >= 3.11
# virtualenv with netlab in it, and `netlab` on the PATH. Idempotent; a second run takes seconds.
#
#   sudo scripts/setup.sh           # install netlab
#   sudo scripts/setup.sh --test    # also install the test dependencies (used by scripts/test.sh)
#   sudo scripts/setup.sh --persist-modules   # also load br_netfilter at every boot
#
# br_netfilter is loaded for this boot only, unless --persist-modules: it makes the bridged
# traffic of *every* bridge on the host (docker0, virbr0, ...) pass the host's iptables too.
#
# Environment:
#   NETLAB_VENV   where the virtualenv goes (default /opt/netlab/venv)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NETLAB_VENV:-/opt/netlab/venv}"
LINK=/usr/local/bin/netlab
WITH_TEST=0
PERSIST_MODULES=0
# Written when this script loads br_netfilter, so `netlab doctor` can say it was not loaded
# before netlab (in /run: it is forgotten at reboot, as the module is without --persist-modules).
LOADED_MARK=/run/netlab/br_netfilter-loaded-by-setup

# Tools the labs use: ip/bridge (kernel plumbing), iptables-restore (kube-proxy rules), nft
# (kube-proxy's nftables mode), conntrack,
# the probes a newcomer runs inside pods (curl, dig, nc, tcpdump, ps) and Graphviz's dot for
# `netlab graph -o lab.svg`, nginx, which the ingress controller pods run (only inside pods,
# with their own config and paths: setup stops and disables the host service the package starts),
# BIRD 2 (bird, birdc) for `--routing bgp` (likewise only inside the nodes), and openssl, which
# makes the test certificates of the ingress TLS tests and the docs' examples.
PACKAGES=(iproute2 iptables nftables conntrack curl netcat-openbsd tcpdump procps kmod graphviz nginx bird2
          python3 python3-venv ca-certificates openssl)
# Ubuntu 22.04+ and Debian 12 call it bind9-dnsutils; older releases only have dnsutils.
DNS_PACKAGES=(bind9-dnsutils dnsutils)

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
    case "$arg" in
        --test) WITH_TEST=1 ;;
        --persist-modules) PERSIST_MODULES=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

[[ "$(id -u)" -eq 0 ]] || die "setup needs root (it installs packages and writes $VENV, $LINK): run: sudo $0${*:+ $*}"

# ---------------------------------------------------------------------------------------------
# System packages
# ---------------------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0

is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

apt_update_once() {
    if [[ "$APT_UPDATED" -eq 0 ]]; then
        say "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
}

apt_install() {
    apt_update_once
    say "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

has_candidate() {
    # A package name apt can install (after apt_update_once).
    # (No `| grep -q`: with pipefail, grep quitting early makes apt-cache die of SIGPIPE.)
    local policy
    policy="$(apt-cache policy "$1" 2>/dev/null)"
    [[ "$policy" =~ Candidate:\ [^\(] ]]
}

install_system_packages() {
    local missing=() pkg dns_ok=0
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    for pkg in "${DNS_PACKAGES[@]}"; do
        is_installed "$pkg" && dns_ok=1
    done
    if [[ ${#missing[@]} -eq 0 && "$dns_ok" -eq 1 ]]; then
        say "system packages: all present"
        return
    fi
    apt_update_once
    if [[ "$dns_ok" -eq 0 ]]; then
        for pkg in "${DNS_PACKAGES[@]}"; do
            if has_candidate "$pkg"; then missing+=("$pkg"); dns_ok=1; break; fi
        done
        [[ "$dns_ok" -eq 1 ]] || warn "neither ${DNS_PACKAGES[*]} can be installed: dig will be missing"
    fi
    apt_install "${missing[@]}"
    if [[ " ${missing[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        # Debian starts nginx on the host's port 80 when it installs it; netlab never uses that.
        say "nginx: disabling the host's nginx service (netlab runs nginx only inside its pods)"
        systemctl disable --now nginx >/dev/null 2>&1 || warn "could not stop the host's nginx service"
    fi
    # The same for bird2's bird.service: netlab runs BIRD inside the nodes of a bgp lab only.
    # Only a service this run brought in is touched: a BIRD you ran before netlab stays yours.
    if [[ " ${missing[*]} " == *" bird2 "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        say "bird2: disabling the package's own bird.service (netlab runs BIRD inside its nodes)"
        systemctl disable --now bird.service >/dev/null 2>&1 || warn "could not stop bird.service"
    fi
}

if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
    install_system_packages
else
    # Not Debian/Ubuntu: say exactly which commands are missing instead of guessing a package manager.
    missing=()
    for cmd in ip iptables-restore iptables-save conntrack curl dig nc tcpdump ps modprobe dot python3; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [[ ${#missing[@]} -eq 0 ]] || die "no apt-get here (this script targets Debian 12 / Ubuntu 22.04+). Install these commands with your package manager, then re-run: ${missing[*]}"
    say "no apt-get: all required commands are present, skipping package installation"
fi

# ---------------------------------------------------------------------------------------------
# Python >= 3.11
# ---------------------------------------------------------------------------------------------
python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if ! PYTHON="$(find_python)"; then
    # Ubuntu 22.04 ships Python 3.10 as python3; python3.11 is a separate package in its archive.
    say "$(python3 --version 2>&1 || echo 'python3: missing') is too old: netlab needs Python >= 3.11"
    if command -v apt-get >/dev/null; then
        apt_update_once
        if has_candidate python3.11 && has_candidate python3.11-venv; then
            apt_install python3.11 python3.11-venv
        fi
    fi
    PYTHON="$(find_python)" || die "no Python >= 3.11 found. On Ubuntu 22.04: sudo apt-get install python3.11 python3.11-venv (universe), then re-run this script."
fi
say "using $PYTHON ($("$PYTHON" --version 2>&1))"

# ---------------------------------------------------------------------------------------------
# The virtualenv and netlab in it
# ---------------------------------------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]] && python_ok "$VENV/bin/python" && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    say "virtualenv $VENV: present"
else
    # A venv made by an older or removed Python cannot be repaired in place: start over.
    [[ -e "$VENV" ]] && { say "virtualenv $VENV is unusable, recreating it"; rm -rf "$VENV"; }
    say "creating virtualenv $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV" \
        || die "could not create the virtualenv; on Debian/Ubuntu install the venv module: apt-get install python3-venv (or python3.11-venv)"
fi

# An editable install needs a writable source tree (setuptools writes netlab.egg-info into it).
# From a read-only tree (a read-only bind mount, a CD), install a copy instead: code edits then
# need another run of this script.
if [[ -w "$REPO" ]]; then MODE=editable; else MODE=copy; fi
EXTRA=""
[[ "$WITH_TEST" -eq 1 ]] && EXTRA="[test]"

# Skip pip when nothing it depends on changed since the last run (pip takes seconds and needs the
# network even when everything is installed). The stamp holds the digest and the extras
# installed with it: an install with [test] also satisfies a plain run, not the other way round.
source_digest() {
    {
        echo "$MODE $REPO"
        sha256sum "$REPO/pyproject.toml"
        if [[ "$MODE" == copy ]]; then
            (cd "$REPO" && find netlab -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum)
        fi
    } | sha256sum | cut -d' ' -f1
}
pip_failed() {
    die "pip could not install netlab (its output is above). It downloads from PyPI: behind a proxy or a TLS-inspecting firewall set PIP_INDEX_URL or PIP_CERT (pip's own settings; sudo -E keeps them), then re-run."
}
STAMP="$VENV/.netlab-installed"
DIGEST="$(source_digest)"
read -r stamp_digest stamp_extra 2>/dev/null <"$STAMP" || true
# And the venv's netlab must still be this checkout's (a `pip install -e` of another checkout
# into the same venv leaves the stamp as it was): the daemons import it, not the checkout's.
installed_from() {
    (cd / && "$VENV/bin/python" -c 'import os, netlab; print(os.path.dirname(os.path.dirname(os.path.abspath(netlab.__file__))))' 2>/dev/null)
}
if [[ -x "$VENV/bin/netlab" && "${stamp_digest:-}" == "$DIGEST" \
      && ( -z "$EXTRA" || "${stamp_extra:-}" == "$EXTRA" ) \
      && ( "$MODE" == copy || "$(installed_from)" == "$REPO" ) ]]; then
    say "netlab${stamp_extra:-}: already installed from $REPO ($MODE)"
else
    rm -f "$STAMP"
    if [[ "$MODE" == editable ]]; then
        say "pip install -e $REPO$EXTRA"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$REPO$EXTRA" || pip_failed
    else
        say "$REPO is read-only: installing a copy (re-run this script after changing the code)"
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' EXIT
        cp -a "$REPO/pyproject.toml" "$REPO/netlab" "$tmp/"
        [[ -f "$REPO/README.md" ]] && cp -a "$REPO/README.md" "$tmp/"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$tmp$EXTRA" || pip_failed
    fi
    echo "$DIGEST $EXTRA" >"$STAMP"
fi

if [[ -e "$LINK" && ! -L "$LINK" ]]; then
    die "$LINK exists and is not a link made by this script; move it away and re-run"
fi
ln -sfn "$VENV/bin/netlab" "$LINK"
say "$LINK -> $VENV/bin/netlab"

# Tab completion for bash (typer's script; it asks `netlab` itself, so it follows new commands).
# The bash-completion package loads /etc/bash_completion.d in new shells; without it, source
# the file from ~/.bashrc.
COMPLETION=/etc/bash_completion.d/netlab
mkdir -p "$(dirname "$COMPLETION")"
if "$VENV/bin/netlab" --show-completion bash >"$COMPLETION.tmp" 2>/dev/null && [[ -s "$COMPLETION.tmp" ]]; then
    mv "$COMPLETION.tmp" "$COMPLETION"
    if [[ -f /usr/share/bash-completion/bash_completion ]]; then
        say "bash completion: $COMPLETION (in new shells)"
    else
        say "bash completion: $COMPLETION (no bash-completion package: add 'source $COMPLETION' to ~/.bashrc)"
    fi
else
    rm -f "$COMPLETION.tmp"
    warn "could not write bash completion to $COMPLETION"
fi

# ---------------------------------------------------------------------------------------------
# br_netfilter: bridged pod-to-pod traffic must pass iptables (net.bridge.bridge-nf-call-iptables)
# ---------------------------------------------------------------------------------------------
if [[ -d /proc/sys/net/bridge ]]; then
    say "br_netfilter: loaded"
elif modprobe br_netfilter 2>/dev/null && [[ -d /proc/sys/net/bridge ]]; then
    mkdir -p "$(dirname "$LOADED_MARK")" && date -Is >"$LOADED_MARK"
    say "br_netfilter: loaded for this boot (netlab doctor lists the host bridges it affects)"
fi
if [[ -d /proc/sys/net/bridge && "$PERSIST_MODULES" -eq 1 ]]; then
    # After a reboot too (a VM, a workstation): systemd-modules-load reads this directory.
    echo br_netfilter >/etc/modules-load.d/netlab.conf
    say "br_netfilter: listed in /etc/modules-load.d/netlab.conf for the next boots"
fi
if [[ ! -d /proc/sys/net/bridge ]]; then
    # Containers (docker, nspawn, WSL) cannot load kernel modules; the host has to. netlab itself
    # reports this again when a lab needs it, so set-up carries on.
    warn "the br_netfilter kernel module is not loaded and could not be loaded from here."
    warn "On the machine that runs the kernel (the host, if this is a container), run:"
    warn "    sudo modprobe br_netfilter"
    warn "    echo br_netfilter | sudo tee /etc/modules-load.d/netlab.conf   # keep it after reboot"
fi

if [[ "$WITH_TEST" -eq 1 ]]; then
    say "done. Next: sudo scripts/test.sh"
else
    say "done. Next: sudo scripts/quickstart.sh   (or: sudo netlab apply -f manifests/quickstart/)"
fi
