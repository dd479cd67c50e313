"""netlab's agnhost: the subcommands of Kubernetes' e2e test image that network lessons use.

The real image (registry.k8s.io/e2e-test-images/agnhost) is one Go binary, `/agnhost`, with
many cobra subcommands; its Dockerfile says `ENTRYPOINT ["/agnhost"]`, `CMD ["pause"]`.
This package is imported by the catalog for SUBCOMMANDS, so it must stay import-light: each
subcommand's module is imported only when that subcommand runs.
"""

from __future__ import annotations

import sys

# (name, cobra's Short text) of every subcommand netlab runs itself.
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("connect", "Attempts a TCP, UDP or SCTP connection and returns useful errors"),
    ("dns-server-list", "Prints the host's DNS Server list"),
    ("dns-suffix", "Prints the host's DNS suffix list"),
    ("etc-hosts", "Prints the host's /etc/hosts file"),
    ("netexec", "Creates HTTP(S), UDP, and (optionally) SCTP servers with various endpoints"),
    ("pause", "Pauses the execution"),
    ("serve-hostname", "Serves the hostname"),
)

# klog's flags, which upstream accepts on every subcommand (some e2e tests pass --v=N).
_KLOG_VALUE_FLAGS = frozenset({"v", "vmodule", "log_dir", "log_file", "log_file_max_size",
                               "stderrthreshold", "log_backtrace_at"})
_KLOG_BOOL_FLAGS = frozenset({"logtostderr", "alsologtostderr", "add_dir_header",
                              "skip_headers", "skip_log_headers", "one_output"})


def subcommand_of(argv: list[str] | tuple[str, ...]) -> str | None:
    """The subcommand agnhost would run for these arguments; None means it prints help."""
    words = [word for word in without_klog_flags(list(argv)) if not word.startswith("-")]
    return words[0] if words else None


def without_klog_flags(argv: list[str]) -> list[str]:
    kept, skip_next = [], False
    for word in argv:
        if skip_next:
            skip_next = False
            continue
        name = word.lstrip("-").partition("=")[0] if word.startswith("-") else ""
        if name in _KLOG_VALUE_FLAGS:
            skip_next = "=" not in word
        elif name not in _KLOG_BOOL_FLAGS:
            kept.append(word)
    return kept


def print_help() -> None:
    width = max(len(name) for name, _ in SUBCOMMANDS) + 4
    lines = ["agnhost, as built into netlab (only these subcommands are available).", "",
             "Usage:", "  app [command]", "", "Available Commands:"]
    lines += [f"  {name:<{width}}{short}" for name, short in SUBCOMMANDS]
    lines += [f"  {'help':<{width}}Help about any command", "", "Flags:",
              "  -h, --help   help for app", "",
              'Use "app [command] --help" for more information about a command.']
    print("\n".join(lines))


def main(argv: list[str]) -> int:
    argv = without_klog_flags(argv)
    if not argv or argv[0] in ("help", "-h", "--help"):
        if len(argv) > 1 and argv[0] == "help":
            return main([argv[1], "--help"])
        print_help()
        return 0
    name, rest = argv[0], argv[1:]
    if name in ("pause", "dns-suffix", "dns-server-list", "etc-hosts") and rest in (["-h"],
                                                                                     ["--help"]):
        print(dict(SUBCOMMANDS)[name] + f"\n\nUsage:\n  app {name} [flags]")
        return 0
    if name == "netexec":
        from netlab.images.agnhost import netexec

        return netexec.main(rest)
    if name == "serve-hostname":
        from netlab.images.agnhost import servehostname

        return servehostname.main(rest)
    if name == "connect":
        from netlab.images.agnhost import connect

        return connect.main(rest)
    if name == "pause":
        from netlab.images import pause

        return pause.main(rest)
    if name in ("dns-suffix", "dns-server-list", "etc-hosts"):
        from netlab.images.agnhost import dns

        return {"dns-suffix": dns.dns_suffix, "dns-server-list": dns.dns_server_list,
                "etc-hosts": dns.etc_hosts}[name](rest)
    sys.stderr.write(f'Error: unknown command "{name}" for "app"\n'
                     "Run 'app --help' for usage.\n")
    return 1
