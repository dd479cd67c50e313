"""The control plane of a lab, as one long-lived process: the controller manager and, for each
node, the kubelet and kube-proxy — the reconcile (`reconcile.py`) run whenever there is
something to react to, and only then.

It wakes when
- the store changed: the CLI sends a datagram after each write (`controlplane.wake`);
- a container exited: a pidfd per running container process (PLEG's job in a kubelet), so a
  crashed container is restarted, and its endpoint withdrawn, within milliseconds;
- a probe or a back-off restart is due (`kubelet/wakeups.py`);
- RESYNC seconds passed without any of these (the level-triggered safety net, like
  kube-proxy's syncPeriod).
Every reconcile re-reads the store and the kernel, so a control plane killed at any point is
simply started again (by the next command) and finishes the job: it adopts the containers
that run by their recorded pid and start time, and never starts a second copy.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from netlab.apiserver.state import locked, open_lab
from netlab.apiserver.store import Change, Compacted, Decoded
from netlab.controllers.nodelifecycle import failed_nodes
from netlab.errors import NetlabError, NotFound
from netlab.kernel import procs, runtime
from netlab.kernel.spawner import Spawner
from netlab.kubelet.wakeups import Wakeups, wakeups
from netlab.lab import apiendpoint, bird, controlplane, warmcli
from netlab.lab.reconcile import kubelet_pass, reconcile

RESYNC = 30.0
# A due time that stays in the past (a probe that cannot run, say) must not make the loop spin.
MIN_GAP = 0.05
RETRY = 2.0  # after a failed reconcile
HISTORY = 1000  # changes kept in the store's watch history behind the converged revision


@dataclass
class _Seen:
    """How far this control plane has read the store: its event log (to copy new events into
    its own log) and the watch history (what changed since the last reconcile)."""

    event: int | None = None
    revision: int | None = None


class _Stop(Exception):
    """SIGTERM/SIGINT while waiting (for work or for the lab's lock): stop now."""


def serve(cluster: str, log: Callable[[str], None]) -> None:
    try:
        me = controlplane.Singleton(cluster)
    except BlockingIOError:
        log(f"a control plane already runs for cluster {cluster}; leaving it be")
        return
    state = {"stopping": False, "interruptible": False}

    def on_signal(signum, frame) -> None:
        state["stopping"] = True
        if state["interruptible"]:
            raise _Stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    selector = selectors.DefaultSelector()
    selector.register(me.socket, selectors.EVENT_READ)
    shim = Spawner(cluster)  # forks the containers, so this big process does not have to
    try:
        shim.start()  # and writes their logs: the output adopted containers wrote meanwhile
    except OSError as exc:
        log(f"the container shim did not start: {exc}")
    procs.become_subreaper()  # and if the shim dies, its containers become ours to reap
    warm = warmcli.Resident(cluster)  # the CLI's `apply` and `delete` run in forks of it
    try:
        warm.start()
    except OSError as exc:
        log(f"the warm CLI process did not start: {exc}")
    seen = _Seen()
    decoded = Decoded()  # the store's objects as the last reconcile read them (an informer's cache)
    woken_by = "start"  # what ended the last wait: start, datagram, exit, timer or resync
    waiting: dict[bytes, int] = {}  # writers (`netlab apply`, …) waiting for their revision
    log(f"control plane for cluster {cluster} started (pid {os.getpid()})")

    def answer(converged: controlplane.Converged) -> None:
        # Writers whose datagram arrived during the reconcile may be answered by it too.
        waiting.update(me.drain())
        for address, revision in list(waiting.items()):
            if revision <= converged.revision:
                me.answer(address, {"revision": converged.revision, "problems": converged.problems})
                del waiting[address]

    try:
        while not state["stopping"]:
            waiting.update(me.drain())
            try:
                state["interruptible"] = True
                with locked(cluster):
                    state["interruptible"] = False
                    plan, converged = _reconcile_once(
                        cluster, seen, log, "datagram" if waiting else woken_by, shim, decoded, answer
                    )
            except _Stop:
                break
            except NotFound:
                log(f"cluster {cluster} is gone; stopping")
                for address in waiting:
                    me.answer(address, {"error": "found the lab gone"})
                return
            except Exception as exc:  # a bug must not take the lab's control plane down with it
                detail = f"{exc.message} {exc.detail}" if isinstance(exc, NetlabError) else traceback.format_exc()
                log(f"reconcile failed: {detail}")
                for address in waiting:
                    me.answer(address, {"error": f"failed to reconcile: {detail.strip().splitlines()[-1]}"})
                waiting.clear()
                plan = Wakeups(time.time() + RETRY)
            else:
                answer(converged)
            finally:
                state["interruptible"] = False
            _reap()
            if waiting:
                continue  # a write landed after this reconcile read the store: once more
            try:
                state["interruptible"] = True
                if not state["stopping"]:
                    woken_by = _wait(selector, me.socket, plan)
            except _Stop:
                break
            finally:
                state["interruptible"] = False
    finally:
        warm.close()
        shim.close()
        me.close()
        selector.close()
        log("control plane stopped")


def _reconcile_once(
    cluster: str,
    seen: _Seen,
    log: Callable[[str], None],
    woken_by: str,
    launch: runtime.Launcher,
    decoded: Decoded,
    answer: Callable[[controlplane.Converged], None] = lambda converged: None,
) -> tuple[Wakeups, controlplane.Converged]:
    """What a wake-up asks for: a due probe or restart, or a container exit, the kubelet's
    pass first (it observes the exit, restarts, probes) and a reconcile without re-wiring the
    underlay only if that changed something, so the endpoints, rules and DNS are published
    once, already knowing; a write, the whole reconcile but the underlay (no object the CLI
    stores changes it; the node commands wire it themselves); the start and the resync,
    everything."""
    lab = open_lab(cluster, decoded)
    try:
        if seen.event is None:  # log only what happens from now on
            events = lab.store.events()
            seen.event = events[-1][0] if events else 0
        if seen.revision is None:
            seen.revision = lab.store.observed_revision()
        try:
            changes = lab.store.watch(seen.revision)
            if changes:
                log(f"watch: {_summary(changes)}")
                seen.revision = changes[-1].revision
        except Compacted:  # behind the history: the reconcile reads everything anyway
            seen.revision = lab.store.revision()
        started = time.perf_counter()
        if woken_by in ("timer", "exit"):
            if woken_by == "exit" and apiendpoint.running(lab.name) is None:
                apiendpoint.ensure_running(lab.topo)  # the apiserver's endpoint died
            if woken_by == "exit" and lab.topo.routing == "bgp":
                bird.ensure_running(lab.topo, frozenset(failed_nodes(lab)))  # a BIRD that died
            outcome = kubelet_pass(lab, launch)
        else:
            outcome = reconcile(lab, wire=woken_by in ("start", "resync"), launch=launch)
        took = (time.perf_counter() - started) * 1000
        # The writers waiting for this revision hear at once; the log and the next wake-up's
        # plan are this process's own business.
        converged = controlplane.Converged(lab.store.observed_revision(), tuple(outcome.problems))
        answer(converged)
        for event_id, e in lab.store.events(seen.event):
            seen.event = event_id
            subject = f"{e.kind.lower()}/{e.name}" + (f" -n {e.namespace}" if e.namespace else "")
            log(f"{e.type:<7} {e.reason:<20} {subject}: {e.message}")
        for problem in outcome.problems:
            log(f"problem: {problem}")
        if outcome.created_pods or outcome.deleted_pods or outcome.synced_nodes:
            log(
                f"reconciled to revision {lab.store.observed_revision()} in {took:.0f} ms: "
                f"{outcome.created_pods} sandboxes created, {outcome.deleted_pods} removed, {outcome.synced_nodes} nodes' rules synced"
            )
        if converged.revision > HISTORY:
            lab.store.compact(converged.revision - HISTORY)
        down = frozenset(failed_nodes(lab))
        plan = wakeups(lab.store.list("Pod"), down)
        plan = Wakeups(plan.at, plan.processes + apiendpoint.daemons(lab.name))
        if lab.topo.routing == "bgp":  # watched like containers: one that dies is started again
            plan = Wakeups(plan.at, plan.processes + bird.daemons(lab.topo, down))
        return plan, converged
    finally:
        lab.close()


def _summary(changes: list[Change]) -> str:
    """`revision 12: PUT pod/web-1 -n default, …`, or counts when there are many."""
    head = f"revision {changes[-1].revision}: "
    if len(changes) <= 5:
        return head + ", ".join(
            f"{c.type} {c.kind.lower()}/{c.name}" + (f" -n {c.namespace}" if c.namespace else "") for c in changes
        )
    counts = Counter((c.type, c.kind) for c in changes)
    return head + ", ".join(f"{n} × {t} {k}" for (t, k), n in sorted(counts.items()))


def _wait(selector: selectors.BaseSelector, wakes: socket.socket, plan: Wakeups) -> str:
    """Sleep until a wake-up datagram, a container exit, or the next due time; says which:
    datagram, exit, timer (a due probe or restart) or resync."""
    watches = []
    try:
        for ref in plan.processes:
            fd = procs.exit_watch(ref)
            if fd is None:
                return "exit"  # exited between the reconcile and now: look again at once
            watches.append(fd)
            selector.register(fd, selectors.EVENT_READ)
        due = plan.at is not None and plan.at - time.time() < RESYNC
        timeout = RESYNC if plan.at is None else min(max(plan.at - time.time(), MIN_GAP), RESYNC)
        ready = selector.select(timeout)
        if any(key.fileobj is wakes for key, _ in ready):
            return "datagram"
        if ready:
            return "exit"
        return "timer" if due else "resync"
    finally:
        for fd in watches:
            selector.unregister(fd)
            os.close(fd)


def _reap() -> None:
    """Containers this process started are its children: collect their exits (the wrapper
    has written each exit code to its file already)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str]) -> None:
    """`python -m netlab.lab.controller CLUSTER`, as `controlplane.ensure_running` starts it."""
    if len(argv) != 1:
        sys.exit("usage: python -m netlab.lab.controller CLUSTER")
    serve(argv[0], lambda line: print(time.strftime("%Y-%m-%d %H:%M:%S"), line, flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
