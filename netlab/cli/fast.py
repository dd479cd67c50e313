"""`get`, `exec` and `apply`, the commands typed most, parsed without typer when they are written plainly.

Importing typer (with its click) costs about twice a bare interpreter's start before a command
does anything: more than the budget of a command that should answer in a blink. So a command
module may declare its parameters as plain data (`PARAMETERS`, a `Params`) beside its typer
function, and `run` reads the command line as click reads it for the plain forms — options
before, between or after the arguments (or only before them, like `exec`), `--opt=value`,
`-ovalue`, grouped short flags, `--`, an environment variable's default — then calls the
command's function with the values typer would have passed.

Anything else is left to typer, which parses it exactly as before and gives the usage error or
the help: an unknown option, `--help`, a missing argument, a value that looks like an option,
shell completion, or a usage problem the command finds itself (`UsageProblem`: typer runs the
command again and reports it). tests/unit/test_cli_startup.py holds every `PARAMETERS` equal to
its typer command (flags, kinds, defaults, environment variables) and compares the two parsers
on sample command lines.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Sequence

# The commands parsed here: name -> the module holding its PARAMETERS.
FAST_COMMANDS = {"get": "netlab.cli.get", "exec": "netlab.cli.exec", "apply": "netlab.cli.apply"}

FLAG, VALUE, MULTI = "flag", "value", "multiple"


class Option:
    """One option: where its value goes, its spellings, and how it takes a value."""

    __slots__ = ("dest", "flags", "kind", "default", "envvar", "required")

    def __init__(
        self, dest: str, flags: tuple[str, ...], kind: str, default: Any = None, envvar: str | None = None, required: bool = False
    ) -> None:
        self.dest, self.flags, self.kind, self.default, self.envvar = dest, flags, kind, default, envvar
        self.required = required  # missing: typer says so

    def initial(self) -> Any:
        if self.kind == MULTI:
            return []
        if self.kind == FLAG:
            return False
        return (os.environ.get(self.envvar) if self.envvar else None) or self.default


def flag(dest: str, *flags: str) -> Option:
    return Option(dest, flags, FLAG)


def value(dest: str, *flags: str, default: Any = None, envvar: str | None = None) -> Option:
    return Option(dest, flags, VALUE, default, envvar)


def multi(dest: str, *flags: str, required: bool = False) -> Option:
    return Option(dest, flags, MULTI, required=required)


class Params:
    """A command's parameters: the function to call ("module:function"), its arguments in
    order (a leading `*` takes all the rest, one or more), its options, and whether options
    may follow arguments (click's allow_interspersed_args)."""

    __slots__ = ("function", "arguments", "options", "interspersed")

    def __init__(self, function: str, arguments: tuple[str, ...], options: tuple[Option, ...], interspersed: bool = True) -> None:
        self.function, self.arguments, self.options, self.interspersed = function, arguments, options, interspersed

    def parse(self, args: Sequence[str]) -> dict[str, Any] | None:
        """The values typer would pass, or None when typer must read this command line."""
        by_flag = {f: o for o in self.options for f in o.flags}
        values = {o.dest: o.initial() for o in self.options}
        positional: list[str] = []
        rest = list(args)
        while rest:
            token = rest.pop(0)
            if token == "--":
                positional += rest
                break
            if token.startswith("--"):
                name, eq, attached = token.partition("=")
                option = by_flag.get(name)
                if option is None or (option.kind == FLAG and eq):
                    return None
                if option.kind == FLAG:
                    values[option.dest] = True
                    continue
                if not eq:
                    if not rest or _looks_like_option(rest[0]):
                        return None
                    attached = rest.pop(0)
                _store(values, option, attached)
            elif token.startswith("-") and token != "-":
                for i, char in enumerate(token[1:], 1):
                    option = by_flag.get("-" + char)
                    if option is None:
                        return None
                    if option.kind == FLAG:
                        values[option.dest] = True
                        continue
                    attached = token[i + 1 :]
                    if not attached:
                        if not rest or _looks_like_option(rest[0]):
                            return None
                        attached = rest.pop(0)
                    _store(values, option, attached)
                    break
            elif self.interspersed:
                positional.append(token)
            else:
                positional += [token, *rest]
                break
        for name in self.arguments:
            if name.startswith("*"):
                if not positional:
                    return None
                values[name[1:]], positional = positional, []
            elif positional:
                values[name] = positional.pop(0)
            else:
                return None
        if positional or any(o.required and not values[o.dest] for o in self.options):
            return None
        return values


def _looks_like_option(token: str) -> bool:
    """A value that click might read as an option: left to click."""
    return token.startswith("-") and token != "-"


def _store(values: dict[str, Any], option: Option, given: str) -> None:
    if option.kind == MULTI:
        values[option.dest].append(given)
    else:
        values[option.dest] = given


def run(argv: Sequence[str]) -> bool:
    """Run a plainly written fast command (True), or leave the command line to typer (False)."""
    from netlab.cli.main import COMPLETE_ENV

    if not argv or argv[0] not in FAST_COMMANDS or COMPLETE_ENV in os.environ:
        return False
    from netlab.cli.common import UsageProblem

    params: Params = importlib.import_module(FAST_COMMANDS[argv[0]]).PARAMETERS
    values = params.parse(argv[1:])
    if values is None:
        return False
    module, _, function = params.function.partition(":")
    try:
        code = getattr(importlib.import_module(module), function)(**values)
    except UsageProblem:
        return False  # typer runs it again and reports the problem as its usage error
    if code:
        raise SystemExit(code)
    return True
