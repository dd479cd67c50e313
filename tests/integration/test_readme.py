"""The README's runnable code blocks work, as written, against a fresh lab.

A block is runnable when the line before its opening fence is `<!-- runnable -->` or its info
string says so (```sh runnable). Each command line runs in the repository root with bash, in
order, with two changes only: `NETLAB_CLUSTER` points every command at a lab of its own (other
labs on this machine are never touched), and a leading `sudo ` is dropped (the suite runs as
root). `netlab` on the PATH is this checkout's. Each command runs once — `apply` returns when
the lab reflects it, so nothing needs a retry — and must keep the promise the README makes for
it (PROMISES); a runnable command without a promise here fails the test, so a new README
example comes with its check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MARKER = "<!-- runnable -->"

# What each runnable README command promises, checked on its output (stdout and stderr).
PROMISES: list[tuple[str, str, Callable[[str], bool]]] = [
    (r"^netlab apply -f manifests/quickstart/pod-a\.yaml$", "pod/pod-a created", lambda out: "pod/pod-a created" in out),
    (r"^netlab apply -f manifests/quickstart/pod-b\.yaml -f manifests/quickstart/service\.yaml$",
     "pod-b and the Service created", lambda out: "pod/pod-b created" in out and "service/pod-service created" in out),
    (r"^netlab exec pod-b -- curl -s pod-service\b", "answered by pod-a", lambda out: "pod=pod-a" in out),
    (r"^netlab get pods -o wide\b", "kubectl's wide columns, both pods Running",
     lambda out: out.split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
     and all(re.search(rf"^{p}\s+1/1\s+Running", out, re.M) for p in ("pod-a", "pod-b"))),
    (r"^netlab exec pod-b -- dig \+short pod-service\.default\.svc\.cluster\.local$", "the Service's cluster IP",
     lambda out: re.fullmatch(r"\d+\.\d+\.\d+\.\d+\s*", out) is not None),
    (r"^netlab describe svc pod-service\b", "endpoints and the KUBE-SVC/KUBE-SEP chains",
     lambda out: "Endpoints:" in out and "KUBE-SVC-" in out and "KUBE-SEP-" in out),
]


def runnable_blocks(text: str) -> list[list[str]]:
    """The command lines of every runnable block (blank lines and comment-only lines dropped)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^```(.*)$", lines[i])
        if fence:
            info = fence.group(1).split()
            marked = "runnable" in info or (i > 0 and lines[i - 1].strip() == MARKER)
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if marked:
                blocks.append([ln for ln in lines[i + 1 : end] if ln.strip() and not ln.lstrip().startswith("#")])
            i = end + 1
            continue
        i += 1
    return blocks


def unsudo(line: str) -> str:
    return re.sub(r"^sudo\s+", "", line.strip())


def test_the_parser_finds_marked_blocks_only():
    text = "```\necho no\n```\n<!-- runnable -->\n```\nsudo netlab get pods   # note\n\n# comment\n```\n```sh runnable\nls\n```\n"
    assert runnable_blocks(text) == [["sudo netlab get pods   # note"], ["ls"]]
    assert unsudo("sudo netlab get pods") == "netlab get pods"


def test_the_readme_marks_its_quick_start_as_runnable():
    commands = [unsudo(line) for block in runnable_blocks(README.read_text()) for line in block]
    assert any(c.startswith("netlab apply -f manifests/quickstart/") for c in commands)
    # `netlab reset` removes every lab on the machine, so it must never be marked runnable.
    assert not any(c.startswith("netlab reset") for c in commands)


@pytest.fixture
def netlab_on_path(tmp_path: Path) -> str:
    """A `netlab` that runs this checkout with the interpreter running the tests."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "netlab"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m netlab "$@"\n')
    shim.chmod(0o755)
    return f"{bin_dir}:{os.environ.get('PATH', '')}"


def promise_of(command: str) -> tuple[str, Callable[[str], bool]]:
    bare = command.split("#", 1)[0].strip()
    for pattern, what, check in PROMISES:
        if re.search(pattern, bare):
            return what, check
    raise AssertionError(f"README command without a promise in test_readme.PROMISES: {bare}")


def test_every_runnable_readme_block_works_on_a_fresh_lab(fresh_lab, netlab_on_path):
    env = {**os.environ, "NETLAB_CLUSTER": fresh_lab.name, "PATH": netlab_on_path}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    transcript = []
    for block in runnable_blocks(README.read_text()):
        for line in block:
            command = unsudo(line)
            what, check = promise_of(command)
            result = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
            transcript.append(f"$ {command}\n{result.stdout}{result.stderr}")
            assert result.returncode == 0, f"README command failed (exit {result.returncode}):\n" + "\n".join(transcript)
            assert check(result.stdout + result.stderr), f"README command did not keep its promise ({what}):\n" + "\n".join(transcript)
    text = "\n".join(transcript)
    # The quick start's promise: pod B's curl of the Service is answered by pod A.
    assert "pod=pod-a" in text, text
