# netlab's CI image: Debian 12 with every tool the labs and the test suite use.
#
#   docker build -t netlab-ci .
#   docker run --rm --privileged --cgroupns=host -v /lib/modules:/lib/modules:ro netlab-ci
#
# --privileged is required: labs create network namespaces, veths, bridges and iptables rules,
# and write sysctls inside their own namespaces (a non-privileged container has /proc/sys
# read-only). The host must have br_netfilter (and, for the vxlan tests, vxlan) loaded, or let
# the container load them from the read-only /lib/modules. docs/howto/ci-container.md has the
# details and what was verified.
FROM debian:12

# Set-up is the same script a person runs (scripts/setup.sh); it needs only these files, so
# editing tests or docs does not re-run apt and pip.
WORKDIR /netlab
COPY pyproject.toml README.md ./
COPY scripts/ scripts/
COPY netlab/ netlab/
RUN scripts/setup.sh --test && rm -rf /var/lib/apt/lists/*
COPY . .

# CI=1: scripts/test.sh sets NETLAB_REQUIRE_ROOT=1, so a root test that skips fails the run.
ENV CI=1
CMD ["scripts/test.sh"]
