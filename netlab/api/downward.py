"""The Downward API's field paths an env var may name (pkg/apis/core/validation), pure."""

from __future__ import annotations

# pkg/apis/core/validation validEnvDownwardAPIFieldPathExpressions
FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
SUBSCRIPTED = ("metadata.labels", "metadata.annotations")


def split_subscript(path: str) -> tuple[str, str | None]:
    """`metadata.labels['app']` -> ("metadata.labels", "app"); a plain path -> (path, None)."""
    if path.endswith("']") and "['" in path:
        base, _, key = path[:-2].partition("['")
        return base, key
    return path, None


def field_path_error(path: str) -> str | None:
    base, key = split_subscript(path)
    if key is not None:
        if base in SUBSCRIPTED and key:
            return None
        return f'Unsupported value: "{path}": supported values: "metadata.annotations[\'KEY\']", "metadata.labels[\'KEY\']"'
    if path in FIELD_PATHS:
        return None
    if path in SUBSCRIPTED:
        return f'Unsupported value: "{path}": use {path}[\'KEY\'] in env (the whole map is only for volumes)'
    supported = ", ".join(f'"{p}"' for p in FIELD_PATHS)
    return f'Unsupported value: "{path}": supported values: {supported}'
