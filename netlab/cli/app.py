"""The root of `netlab` as typer builds it: every command of `index.py`'s table, its module
imported when used.

Completing a command name reads the table and imports no command module (`netlab --help` is
printed from the table by main.py without importing typer at all); running a command, showing
its own `--help` or completing its arguments imports that one module (which imports the part
of the library it calls).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from netlab import __version__
from netlab.cli.index import COMMANDS, ROOT_HELP, ROOT_OPTIONS, Entry

__all__ = ["COMMANDS", "Entry", "app"]


class LazyGroup(TyperGroup):
    """The root group: each name starts as a stand-in (name and help); get_command() swaps in the
    real command, importing its module, except while the group lists its commands."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = {name: _stand_in(name, entry) for name, entry in COMMANDS.items()}
        self._unloaded = set(COMMANDS)
        self._listing = False

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        if cmd_name in self._unloaded and not self._listing:
            self._load(COMMANDS[cmd_name].module)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        with self._stand_ins():  # typer asks get_command() for each name it lists
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: typer.Context, incomplete: str) -> Any:
        with self._stand_ins():  # completing a command name needs the names and their help
            return super().shell_complete(ctx, incomplete)

    @contextmanager
    def _stand_ins(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def _load(self, module: str) -> None:
        """Every command `module` registers, built by typer as if registered on the root."""
        holder = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        importlib.import_module(module).register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            self.commands[name] = command
            self._unloaded.discard(name)


def _stand_in(name: str, entry: Entry) -> TyperCommand | TyperGroup:
    return (TyperGroup if entry.group else TyperCommand)(name=name, help=entry.help)


app = typer.Typer(
    name="netlab",
    cls=LazyGroup,
    help=ROOT_HELP,
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"netlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help=ROOT_OPTIONS[0][2]),
    verbose: bool = typer.Option(False, "-v", "--verbose", help=ROOT_OPTIONS[1][2]),
) -> None:
    """Build pods, Services and cluster DNS from Kubernetes YAML with real namespaces, veths and iptables."""
    # -v is read by main() (netlab/cli/main.py), which owns the error boundary.
