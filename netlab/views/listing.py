"""What `kubectl get ARGS` asks for, and the sections it prints (one per kind).

Arguments read as kubectl reads them: `pods`, `pods,svc`, `all`, `pod web db`,
`pod/web svc/web`. Each section holds a kind's rows and documents, already filtered by name and
field selector and sorted; the CLI only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from netlab.api.kinds import KindInfo
from netlab.errors import InvalidInput, NotFound
from netlab.views import printing

if TYPE_CHECKING:
    from netlab.api.labels import Selector
    from netlab.apiserver.state import Lab

# `kubectl get all`: the "all" category of the kinds netlab has.
ALL = ("Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet")

View = Callable[["Lab", "str | None", "Selector | None", bool], tuple[list[str], list[list[Any]], list[dict]]]


@dataclass(frozen=True)
class Request:
    kind: KindInfo
    names: tuple[str, ...]  # empty: every object


@dataclass
class Section:
    kind: KindInfo
    headers: list[str]
    rows: list[list[Any]]
    docs: list[dict]


def parse_requests(args: Sequence[str], known: Callable[[str], "tuple[KindInfo, View] | None"]) -> list[Request]:
    """kubectl's resource arguments -> what to list, in the order asked."""
    if not args:
        raise InvalidInput("You must specify the type of resource to get. Use `netlab api-resources` for a complete list of supported resources.")
    if any("/" in a for a in args):
        if not all("/" in a for a in args):
            raise InvalidInput("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'netlab get resource/<resource_name>' instead of 'netlab get resource resource/<resource_name>')")
        requests: list[Request] = []
        for a in args:
            kind_text, _, name = a.partition("/")
            info = _kind(kind_text, known)
            requests.append(Request(info, (name,)))
        return requests
    kinds: list[KindInfo] = []
    for word in args[0].split(","):
        if word.lower() == "all":
            kinds += [k for k in (_kind(n, known) for n in ALL) if k not in kinds]
        else:
            info = _kind(word, known)
            if info not in kinds:
                kinds.append(info)
    return [Request(k, tuple(args[1:])) for k in kinds]


def _kind(text: str, known) -> KindInfo:
    found = known(text)
    if found is None:
        raise InvalidInput(f'the server doesn\'t have a resource type "{text}" (see: netlab api-resources)')
    return found[0]


def collect(
    lab: Lab,
    requests: Sequence[Request],
    views: Callable[[str], "tuple[KindInfo, View] | None"],
    namespace: str | None,
    selector: Selector | None,
    field_selector: str | None,
    sort_by: str | None,
    wide: bool,
) -> tuple[list[Section], list[str]]:
    """The sections to print and the not-found messages (kubectl prints what it found, then
    `Error from server (NotFound)` for each missing name, and exits 1)."""
    requirements = printing.parse_field_selector(field_selector) if field_selector else []
    key = printing.sort_key(sort_by) if sort_by else None
    sections: dict[str, Section] = {}
    missing: list[str] = []
    cache: dict[str, tuple] = {}
    shown: dict[str, set[int]] = {}
    for request in requests:
        info, view = views(request.kind.kind)  # type: ignore[misc]
        printing.check_field_selector(info.kind, requirements)
        scope = namespace if info.namespaced else None
        if info.kind not in cache:
            cache[info.kind] = view(lab, scope, selector, wide)
        headers, rows, docs = cache[info.kind]
        pairs = [(r, d) for r, d in zip(rows, docs) if printing.fields_match(d, requirements)]
        if request.names:
            chosen = []
            for name in request.names:
                match = [p for p in pairs if p[1]["metadata"]["name"] == name]
                if not match:
                    missing.append(f'{info.qualified_plural} "{name}" not found')
                chosen += match[:1]
            pairs = chosen
        section = sections.setdefault(info.kind, Section(info, headers, [], []))
        listed = shown.setdefault(info.kind, set())
        for r, d in pairs:
            # A kind's documents come from one view call (cached above): the same object when
            # asked for twice, so identity finds the repeats without comparing whole documents.
            if id(d) not in listed:
                listed.add(id(d))
                section.rows.append(r)
                section.docs.append(d)
    result = list(sections.values())
    if key is not None:
        for s in result:
            order = sorted(range(len(s.docs)), key=lambda i: key(s.docs[i]))
            s.rows = [s.rows[i] for i in order]
            s.docs = [s.docs[i] for i in order]
    return result, missing


def not_found(missing: Sequence[str]) -> NotFound:
    return NotFound("\n".join(missing))
