"""`netlab logs` over several containers (-l, --all-containers, --prefix, -f of many) and
kubectl's flags that shape the output (--timestamps, --since, --since-time, --tail, --limit-bytes)."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from typing import BinaryIO

from netlab.cli.common import UsageProblem
from netlab.errors import NetlabError
from netlab.kernel import containerlogs

SELECTOR_TAIL = 10  # kubectl's --tail default when -l is given


class PrefixedSink:
    """Whole lines, each starting with `[pod/NAME/CONTAINER] `, written under one lock so the
    lines of concurrent followers never interleave mid-line."""

    def __init__(self, sink: BinaryIO, prefix: bytes, lock: threading.Lock) -> None:
        self._sink, self._prefix, self._lock, self._partial = sink, prefix, lock, b""

    def write(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if lines:
            with self._lock:
                self._sink.write(b"".join(self._prefix + line + b"\n" for line in lines))

    def flush(self) -> None:
        with self._lock:
            if self._partial:
                self._sink.write(self._prefix + self._partial + b"\n")
                self._partial = b""
            self._sink.flush()


def show(lab, namespace: str, pod: str | None, selector: str | None, container: str | None, all_containers: bool,
         prefix: bool, previous: bool, follow: bool, options: containerlogs.Options) -> None:
    """`options.tail` None: kubectl's default (all, or SELECTOR_TAIL with -l)."""
    from netlab.api.labels import parse_label_selector
    from netlab.kubelet import exec as kubelet

    if pod is not None:
        pods = [pod]
    else:
        sel = parse_label_selector(selector or "")
        pods = [o.name for o in lab.store.list("Pod", namespace)
                if sel.matches((o.manifest.get("metadata") or {}).get("labels") or {})]
        if not pods:
            sys.stderr.write(f"No resources found in {namespace} namespace.\n")
            return
    if options.tail is None:
        options = dataclasses.replace(options, tail=SELECTOR_TAIL if selector is not None else -1)
    streams = []
    for name in pods:
        _, model = kubelet.find_pod(lab, namespace, name)
        names = [c.name for c in model.spec.containers] if all_containers else [kubelet.container_of(model, container).name]
        streams += [(name, c) for c in names]
    out = sys.stdout.buffer
    lock = threading.Lock()

    def run(name: str, c: str) -> None:
        sink = PrefixedSink(out, f"[pod/{name}/{c}] ".encode(), lock) if prefix else out
        kubelet.stream_logs(lab, namespace, name, c, sink, options, follow=follow, previous=previous)
        sink.flush()

    if not follow or len(streams) == 1:
        for name, c in streams:
            try:
                run(name, c)
            except NetlabError as exc:
                if len(streams) == 1:
                    raise
                sys.stderr.write(f"error: {exc.message}\n")
        return
    threads = [threading.Thread(target=_guarded, args=(run, name, c), daemon=True) for name, c in streams]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        return


def _guarded(run, name: str, c: str) -> None:
    try:
        run(name, c)
    except NetlabError as exc:
        sys.stderr.write(f"error: {exc.message}\n")


def options(timestamps: bool, since: str | None, since_time: str | None, tail: int | None, limit_bytes: int | None) -> containerlogs.Options:
    """kubectl's logs flags checked as kubectl checks them (its messages), into the kubelet's
    options: `--since` as whole seconds before now, `--since-time` as given."""
    if since is not None and since_time is not None:
        raise UsageProblem("at most one of `sinceTime` or `sinceSeconds` may be specified")
    if limit_bytes is not None and limit_bytes <= 0:
        raise UsageProblem("--limit-bytes must be greater than 0")
    if tail is not None and tail < -1:
        raise UsageProblem("--tail must be greater than or equal to -1")
    start = None
    if since is not None:
        try:
            seconds = containerlogs.parse_duration(since)
        except ValueError as exc:
            raise UsageProblem(f'invalid argument "{since}" for "--since" flag: {exc}') from None
        if seconds < 0:
            raise UsageProblem("--since must be greater than 0")
        if seconds > 0:  # kubectl sends no sinceSeconds for 0
            start = time.time_ns() - containerlogs.since_seconds(seconds) * 1_000_000_000
    if since_time is not None:
        try:
            start = containerlogs.parse_timestamp(since_time)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
    return containerlogs.Options(timestamps=timestamps, since=start, tail=tail, limit_bytes=limit_bytes)
