"""`netlab edit TYPE/NAME | TYPE NAME`: kubectl edit. The object, as `get -o yaml|json` shows
it, goes to a temporary file and your editor; what you changed is sent back as a merge patch
(`lab/patch.py`) through the apiserver's checks, and the lab converges as after `apply`.
A refused change opens the file again with the reasons at the top (`cli/editfile.py`)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import List

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, out, report
from netlab.errors import NetlabError, NotFound, require_root

PREFIX = "netlab-edit-"


class EditFailed(NetlabError):
    """kubectl's exit 1 after an edit that was not saved."""


def _target(args: list[str]) -> tuple[str, str]:
    if len(args) == 1 and "/" in args[0]:
        kind, _, name = args[0].partition("/")
    elif len(args) == 2 and "/" not in args[0]:
        kind, name = args
    else:
        raise typer.BadParameter("expected TYPE/NAME or TYPE NAME (one object), e.g. svc/web", param_hint="ARGS")
    if not kind or not name:
        raise typer.BadParameter("expected TYPE/NAME or TYPE NAME, e.g. svc/web", param_hint="ARGS")
    return kind, name


def _launch(text: str, suffix: str) -> tuple[str, str]:
    """Write `text` to a new temporary file, run the editor on it; (path, what it holds then)."""
    from netlab.cli.editfile import editor, editor_argv

    fd, path = tempfile.mkstemp(prefix=PREFIX, suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    argv, shown = editor_argv(os.environ, path), " ".join(editor(os.environ)[0])
    try:
        done = subprocess.run(argv)
    except (FileNotFoundError, PermissionError):
        raise EditFailed(f'unable to launch the editor "{shown}"') from None
    if done.returncode != 0:
        raise EditFailed(f'there was a problem with the editor "{shown}"')
    with open(path) as f:
        return path, f.read()


def _preserved(path: str) -> None:
    if path and os.path.exists(path):
        note(f'A copy of your changes has been stored to "{path}"')


def register(app: typer.Typer) -> None:
    @app.command("edit")
    def edit(
        args: List[str] = typer.Argument(..., help="TYPE/NAME or TYPE NAME: svc/web, deploy web, clusterrole system:coredns."),
        output: str = typer.Option("yaml", "-o", "--output", metavar="yaml|json", help="The format to edit in."),
        namespace: str = NamespaceOption,
        wait: str = typer.Option("true", "--wait", metavar="true|false", help="Return once the lab reflects the change (default), or with --wait=false as soon as it is stored."),
        cluster: str = ClusterOption,
    ) -> None:
        """Edit an object in $KUBE_EDITOR or $EDITOR (vi) and apply what you changed, as kubectl edit."""
        from netlab.api.documents import parse_documents
        from netlab.cli.apply import _wait_flag
        from netlab.cli.common import open_alive
        from netlab.cli.editfile import Reason, content, has_lines, render, reopen
        from netlab.errors import InvalidInput
        from netlab.lab import patch as patching
        from netlab.views import get as get_view

        require_root()
        if output not in ("yaml", "json"):
            raise typer.BadParameter(f'output format "{output}" is not supported by edit: use yaml or json', param_hint="-o")
        kind_text, name = _target(args)
        found = get_view.view_for(kind_text)
        if found is None or not found[0].modelled:
            raise typer.BadParameter(f'the server doesn\'t have a resource type "{kind_text}" that netlab can edit', param_hint="ARGS")
        info, view = found
        scope = namespace if info.namespaced else ""
        lab = open_alive(cluster)
        try:
            docs = [d for d in view(lab, scope or None, None, False)[2] if d["metadata"]["name"] == name]
        finally:
            lab.close()
        if not docs:
            raise NotFound(f'{info.qualified_plural} "{name}" not found')
        document, resource = docs[0], info.qualified_plural
        suffix = ".json" if output == "json" else ".yaml"
        original = render(document, output)
        text, edited, path, failing = original, "", "", False
        while True:
            previous = edited
            new_path, edited = _launch(text, suffix)
            if failing and content(previous) == content(edited):
                if path != new_path and os.path.exists(path):
                    os.remove(path)  # the same text is kept in the new copy
                _preserved(new_path)
                raise EditFailed("Edit cancelled, no valid changes were saved.")
            if path and path != new_path and os.path.exists(path):
                os.remove(path)
            path = new_path
            if content(original) == content(edited):
                os.remove(path)
                note("Edit cancelled, no changes made.")
                return
            if not has_lines(edited):
                os.remove(path)
                note("Edit cancelled, saved file was empty.")
                return
            try:
                parsed = [d for d in parse_documents(path, edited) if d is not None]
                if len(parsed) != 1 or not isinstance(parsed[0], dict):
                    raise InvalidInput(f"expected one object, found {len(parsed)} documents")
            except InvalidInput as exc:
                failing = True
                text = reopen(edited, output, (Reason(f"The edited file had a syntax error: {exc.message}"),))
                continue
            mine = parsed[0]
            meta = mine.get("metadata") if isinstance(mine.get("metadata"), dict) else {}
            if (mine.get("apiVersion"), mine.get("kind"), meta.get("name")) != (document.get("apiVersion"), document.get("kind"), name):
                _preserved(path)
                raise EditFailed("At least one of apiVersion, kind and name was changed")
            if info.namespaced and meta.get("namespace", scope) != scope:
                _preserved(path)
                given = meta.get("namespace")
                raise EditFailed(
                    f'the namespace from the provided object "{given}" does not match the namespace "{scope}". '
                    f"You must pass '--namespace={given}' to perform this operation."
                )
            from netlab.apiserver import mergepatch

            changes = mergepatch.create(document, mine)
            try:
                change, problems = patching.patch(cluster, info.kind, scope, name, changes, wait=_wait_flag(wait))
            except patching.Invalid as exc:
                note(f'error: {resource} "{name}" is invalid')
                failing = True
                text = reopen(edited, output, (Reason(f'{resource} "{name}" was not valid', tuple(exc.causes)),))
                continue
            except NotFound:
                note(f'error: {resource} "{name}" could not be found on the server')
                note(f'The edits you made on deleted resources have been saved to "{path}"')
                raise EditFailed("the object was deleted while you edited it") from None
            os.remove(path)
            out(f"{info.qualified}/{name} {'edited' if change.verb != 'unchanged' else 'skipped'}")
            report(problems)
            return
