#!/usr/bin/env python3
"""Run the Dockerfile's steps with systemd-nspawn, for machines that have no Docker engine.

    sudo .ci/dockerfile-standin.py --base /var/tmp/netlab-deb --root /var/tmp/netlab-ci-image

`--base` is a Debian 12 root file system standing in for `FROM debian:12` (make one with
`debootstrap --variant=minbase bookworm DIR http://deb.debian.org/debian`). It is copied to
`--root` (the "image"); then each instruction of the Dockerfile runs as Docker would run it:
COPY from the build context (a `git archive` of HEAD, i.e. what CI checks out), WORKDIR, ENV,
and every RUN as `/bin/sh -c` inside the root with the host's network (docker build has one).
Finally CMD runs in a throwaway snapshot of the image with its own network namespace
(`--private-network -x`), the stand-in for `docker run --privileged`.

Only the instructions this repository's Dockerfile uses are understood (FROM, WORKDIR, COPY,
RUN, ENV, CMD in exec form); anything else is an error, so the stand-in cannot silently drift.
Extra systemd-nspawn options for the RUN steps (e.g. a CA bundle behind a TLS-inspecting proxy)
go after `--build-arg-nspawn`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    steps, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        steps.append((word.upper(), rest.strip()))
    return steps


def build_context(dest: Path) -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def copy(context: Path, root: Path, workdir: str, args: str) -> None:
    *sources, target = shlex.split(args)
    dest = root / (target if target.startswith("/") else os.path.join(workdir, target)).lstrip("/")
    for source in sources:
        src = context / source
        if src.is_dir():
            # Docker copies a directory's contents, not the directory itself.
            shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
        else:
            target_file = dest / src.name if (target.endswith("/") or len(sources) > 1) else dest
            target_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target_file)


def nspawn(root: Path, workdir: str, env: dict[str, str], argv: list[str], extra: list[str]) -> None:
    command = [
        "systemd-nspawn", "--register=no", "--keep-unit", "--quiet", "--console=pipe",
        "--capability=all", "-D", str(root), f"--chdir={workdir}",
        *(f"--setenv={k}={v}" for k, v in env.items()), *extra, *argv,
    ]
    print("+ " + shlex.join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, type=Path, help="a Debian 12 root file system (FROM debian:12)")
    parser.add_argument("--root", required=True, type=Path, help="where the image is built (replaced)")
    parser.add_argument("--skip-build", action="store_true", help="reuse --root as built by an earlier run")
    parser.add_argument("--cmd", help="run this shell command instead of the Dockerfile's CMD")
    parser.add_argument("--build-arg-nspawn", nargs=argparse.REMAINDER, default=[], help="extra nspawn options for RUN")
    args = parser.parse_args()

    steps = instructions((REPO / "Dockerfile").read_text())
    workdir, env, cmd = "/", {}, None
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        build_context(context)
        if not args.skip_build:
            if args.root.exists():
                shutil.rmtree(args.root)
            subprocess.run(["cp", "-a", str(args.base), str(args.root)], check=True)
        for word, rest in steps:
            if word == "FROM":
                continue  # --base is the stand-in
            elif word == "WORKDIR":
                workdir = rest
                (args.root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif word == "ENV":
                key, _, value = rest.partition("=")
                env[key] = value
            elif word == "COPY":
                if not args.skip_build:
                    copy(context, args.root, workdir, rest)
            elif word == "RUN":
                if not args.skip_build:
                    nspawn(args.root, workdir, env, ["/bin/sh", "-c", rest], args.build_arg_nspawn)
            elif word == "CMD":
                cmd = json.loads(rest)
            else:
                raise SystemExit(f"the stand-in does not understand {word}; extend .ci/dockerfile-standin.py")
    argv = ["/bin/sh", "-c", args.cmd] if args.cmd else cmd
    if argv is None:
        raise SystemExit("the Dockerfile has no CMD")
    # docker run --privileged: its own network namespace, writable /proc/sys, all capabilities.
    nspawn(args.root, workdir, env, argv, ["--private-network", "-x"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
