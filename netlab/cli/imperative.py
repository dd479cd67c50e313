"""kubectl's imperative commands: `create deployment|configmap|secret`, `expose`, `run`. Each
builds the manifest kubectl would send (api/generate.py, api/configdata.py) and applies it like
`netlab apply`."""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, out, report
from netlab.errors import NetlabError, require_root, require_tools


def _apply(cluster: str, manifest: dict, verb: str | None = None, wait: bool = True) -> str:
    """Admit and store one generated object; kubectl's `KIND/NAME created` (or `verb`)."""
    from pydantic import ValidationError

    from netlab.api.field import problems_from_validation_error
    from netlab.api.kinds import object_from_dict
    from netlab.errors import InvalidInput
    from netlab.lab import commands

    try:
        obj = object_from_dict(manifest)
    except ValidationError as exc:
        raise InvalidInput([str(p) for p in problems_from_validation_error(exc)]) from None
    changes, problems = commands.apply(cluster, [obj], wait=wait)
    change = changes[0]
    if change.verb != "created":
        raise NetlabError(f'{_plural(manifest["kind"])} "{manifest["metadata"]["name"]}" already exists')
    report(problems)
    return f"{str(change).rsplit(' ', 1)[0]} {verb or change.verb}"


def _plural(kind: str) -> str:
    from netlab.api.kinds import BY_KIND

    return BY_KIND[kind].qualified_plural


def register(app: typer.Typer) -> None:
    create = typer.Typer(help="Create an object from flags, as kubectl create does: deployment, configmap, secret.", no_args_is_help=True)
    app.add_typer(create, name="create")
    secret = typer.Typer(help="Create a Secret: generic (from files, literals, env files) or tls (a certificate and its key).", no_args_is_help=True)
    create.add_typer(secret, name="secret")

    @create.command("deployment", context_settings={"allow_interspersed_args": True})
    def create_deployment(
        name: str = typer.Argument(..., help="The Deployment's name (its pods get app=NAME)."),
        command: Optional[List[str]] = typer.Argument(None, help="After --: the containers' command."),
        image: List[str] = typer.Option(..., "--image", help="Container image (repeatable: one container each)."),
        replicas: int = typer.Option(1, "-r", "--replicas", min=0, help="Number of replicas."),
        port: Optional[int] = typer.Option(None, "--port", help="The containerPort to declare."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Create a Deployment NAME running --image (labels app=NAME), as kubectl create deployment."""
        from netlab.api import generate

        require_root()
        require_tools()
        manifest = generate.deployment(name, image, replicas, port, command or [], namespace)
        out(_apply(cluster, manifest))

    @create.command("configmap")
    def create_configmap(
        name: str = typer.Argument(..., help="The ConfigMap's name."),
        from_file: List[str] = typer.Option([], "--from-file", help="[KEY=]PATH: a file (key: its name, or KEY), or every file of a directory (repeatable)."),
        from_literal: List[str] = typer.Option([], "--from-literal", help="KEY=VALUE (repeatable)."),
        from_env_file: List[str] = typer.Option([], "--from-env-file", help="A file of KEY=VALUE lines (repeatable)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Create a ConfigMap from files, directories, literal values or env files, as kubectl create configmap."""
        from netlab.api import configdata

        require_root()
        out(_apply(cluster, configdata.configmap(name, namespace, from_file, from_literal, from_env_file)))

    @secret.command("generic")
    def create_secret_generic(
        name: str = typer.Argument(..., help="The Secret's name."),
        from_file: List[str] = typer.Option([], "--from-file", help="[KEY=]PATH: a file (key: its name, or KEY), or every file of a directory (repeatable)."),
        from_literal: List[str] = typer.Option([], "--from-literal", help="KEY=VALUE (repeatable)."),
        from_env_file: List[str] = typer.Option([], "--from-env-file", help="A file of KEY=VALUE lines (repeatable)."),
        secret_type: Optional[str] = typer.Option(None, "--type", help="The Secret's type (default Opaque)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Create a Secret from files, directories, literal values or env files, as kubectl create secret generic."""
        from netlab.api import configdata

        require_root()
        out(_apply(cluster, configdata.secret_generic(name, namespace, from_file, from_literal, from_env_file, secret_type)))

    @secret.command("tls")
    def create_secret_tls(
        name: str = typer.Argument(..., help="The Secret's name."),
        cert: Optional[str] = typer.Option(None, "--cert", help="Path to the PEM certificate (tls.crt)."),
        key: Optional[str] = typer.Option(None, "--key", help="Path to the PEM private key (tls.key)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Create a kubernetes.io/tls Secret from a certificate and its key, as kubectl create secret tls."""
        from netlab.api import configdata

        require_root()
        out(_apply(cluster, configdata.secret_tls(name, namespace, cert, key)))

    @app.command("expose")
    def expose(
        target: str = typer.Argument(..., help="deploy NAME, pod NAME, svc NAME, rs NAME, sts NAME (or KIND/NAME)."),
        name_arg: Optional[str] = typer.Argument(None, metavar="[NAME]", show_default=False),
        port: Optional[int] = typer.Option(None, "--port", help="The Service port (default: the object's declared ports)."),
        target_port: Optional[str] = typer.Option(None, "--target-port", help="The pods' port, a number or a port name (default: --port)."),
        protocol: Optional[str] = typer.Option(None, "--protocol", help="TCP or UDP."),
        service_type: str = typer.Option("ClusterIP", "--type", help="ClusterIP, NodePort or LoadBalancer."),
        service_name: Optional[str] = typer.Option(None, "--name", help="The Service's name (default: the object's)."),
        selector: Optional[str] = typer.Option(None, "--selector", help="Select these labels instead of the object's."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Create a Service for a Deployment, pod, ReplicaSet, StatefulSet or Service, as kubectl expose."""
        from netlab.api import generate
        from netlab.api.kinds import lookup
        from netlab.apiserver.state import open_lab

        require_root()
        kind_text, _, slash = target.partition("/")
        name = slash or name_arg
        info = lookup(kind_text)
        if info is None or info.kind not in ("Deployment", "Pod", "Service", "ReplicaSet", "StatefulSet") or not name:
            raise typer.BadParameter("expected KIND NAME with KIND one of deploy, pod, svc, rs, sts", param_hint="TARGET")
        lab = open_lab(cluster)
        try:
            o = lab.store.get(info.kind, namespace, name)
        finally:
            lab.close()
        if o is None:
            raise NetlabError(f'{info.qualified_plural} "{name}" not found')
        manifest = generate.service_for(
            info.kind, o.manifest, service_name or name, namespace, port, target_port, protocol, service_type,
            generate.parse_labels(selector),
        )
        out(_apply(cluster, manifest, "exposed"))

    @app.command("run", context_settings={"allow_interspersed_args": True})
    def run(
        name: str = typer.Argument(..., help="The pod's name (its label run=NAME)."),
        args: Optional[List[str]] = typer.Argument(None, help="After --: the container's args (its command with --command)."),
        image: str = typer.Option(..., "--image", help="The container's image."),
        restart: str = typer.Option("Always", "--restart", help="Always, OnFailure or Never (the pod's restartPolicy)."),
        command: bool = typer.Option(False, "--command", help="The words after -- are the command, not args."),
        port: Optional[int] = typer.Option(None, "--port", help="The containerPort to declare."),
        labels: Optional[str] = typer.Option(None, "-l", "--labels", help="Labels instead of run=NAME, e.g. app=web,tier=db."),
        env: List[str] = typer.Option([], "--env", help="NAME=VALUE (repeatable)."),
        stdin: bool = typer.Option(False, "-i", "--stdin", help="Keep stdin open: run the command interactively in the pod."),
        tty: bool = typer.Option(False, "-t", "--tty", help="With -i: on a terminal of its own."),
        rm: bool = typer.Option(False, "--rm", help="Delete the pod when the interactive command exits."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Create a pod running one container, as kubectl run; with -it, run its command interactively."""
        from netlab.api import generate

        require_root()
        require_tools()
        words = list(args or [])
        if words and words[0] == "--":
            words = words[1:]
        if rm and not stdin:
            raise typer.BadParameter("--rm should only be used for attached containers (add -i)")
        if not stdin:
            manifest = generate.pod(name, image, namespace, restart, words, command, port, generate.parse_labels(labels), env)
            out(_apply(cluster, manifest))
            return
        # Interactive: netlab's containers have no attachable stdin, so the pod runs a holder
        # and the command runs in the pod as `exec -it` would (same namespaces, env, files).
        holder = generate.pod(name, image, namespace, restart, ["sleep", "infinity"], True, port, generate.parse_labels(labels), env)
        _apply(cluster, holder)
        argv = words or ["sh"]
        if tty and sys.stdin.isatty():
            note("If you don't see a command prompt, try pressing enter.")
        code = _interactive(cluster, namespace, name, argv, tty)
        if rm:
            from netlab.lab import commands

            commands.delete(cluster, [("Pod", namespace, name)], ignore_not_found=True, wait=False)
            out(f'pod "{name}" deleted')
        raise typer.Exit(code)


def _interactive(cluster: str, namespace: str, name: str, argv: list[str], tty: bool) -> int:
    """Run `argv` in the pod in a child (this process deletes the pod afterwards); its exit code."""
    from netlab.cli.common import open_alive
    from netlab.kubelet import exec as kubelet

    lab = open_alive(cluster)
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(kubelet.exec_in_pod(lab, namespace, name, None, argv, True, tty=tty and sys.stdin.isatty()))
        except FileNotFoundError:
            sys.stderr.write(f'error: exec: "{argv[0]}": executable file not found in $PATH\n')
            os._exit(127)
        except BaseException as exc:  # the child must never return into the CLI
            sys.stderr.write(f"error: {exc}\n")
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
