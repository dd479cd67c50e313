"""`python -m netlab.images <program> [args...]`: the entry point of every built-in program.

Only the chosen program is imported, so each starts fast and small.
"""

from __future__ import annotations

import sys

PROGRAMS = ("agnhost", "web", "nginx")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in PROGRAMS:
        print(f"usage: python -m netlab.images {{{','.join(PROGRAMS)}}} [args...]",
              file=sys.stderr)
        return 2
    program, rest = argv[0], argv[1:]
    if program == "agnhost":
        from netlab.images import agnhost

        return agnhost.main(rest)
    if program == "nginx":
        from netlab.images import nginx

        return nginx.main(rest)
    from netlab.images import web

    return web.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
