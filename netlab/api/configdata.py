"""What `kubectl create configmap` and `kubectl create secret generic|tls` send, from their
flags (kubectl's generators, staging/src/k8s.io/kubectl/pkg/cmd/create/create_configmap.go and
create_secret.go):

- `--from-file=[KEY=]PATH`: a file is one key (its base name unless KEY is given); a
  directory gives one key per regular file directly in it whose name is a valid key (others
  are skipped, as kubectl does); KEY= with a directory is refused.
- `--from-literal=KEY=VALUE`; `--from-env-file=PATH`: `KEY=VALUE` lines, blank lines and `#`
  comments skipped, a line with a name alone takes the value of that variable here.
- A ConfigMap keeps UTF-8 content in `data` and anything else in `binaryData`; a Secret holds
  base64 in `data`. A key given twice is refused with kubectl's message.
- `secret tls --cert --key`: type `kubernetes.io/tls` with `tls.crt` and `tls.key`.

The files are read here (the CLI's side); the apiserver's checks run when it is applied.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from netlab.api.names import env_var_name_errors
from netlab.api.secret import key_errors
from netlab.errors import InvalidInput


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InvalidInput(f"error reading {path}: {exc.strerror or exc}") from None


def _file_pairs(spec: str) -> list[tuple[str, bytes]]:
    key, sep, path = spec.partition("=")
    if not sep:
        key, path = "", spec
    if not path:
        raise InvalidInput(f"key names or file paths cannot contain '=' ({spec})")
    if os.path.isdir(path):
        if key:
            raise InvalidInput("cannot give a key name for a directory path")
        pairs = []
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full) and not key_errors(name):
                pairs.append((name, _read(full)))
        return pairs
    if not os.path.exists(path):
        raise InvalidInput(f"error reading {path}: no such file or directory")
    return [(key or os.path.basename(path), _read(path))]


def _literal_pairs(spec: str) -> list[tuple[str, bytes]]:
    key, sep, value = spec.partition("=")
    if not sep or not key:
        raise InvalidInput(f"invalid literal source {spec}, expected key=value")
    return [(key, value.encode())]


def _env_file_pairs(path: str) -> list[tuple[str, bytes]]:
    pairs = []
    for number, raw in enumerate(_read(path).decode(errors="replace").splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if env_var_name_errors(key):
            raise InvalidInput(f'"{key}" is not a valid key name: {"; ".join(env_var_name_errors(key))} ({path}, line {number})')
        pairs.append((key, value.encode() if sep else os.environ.get(key, "").encode()))
    return pairs


def _collect(kind: str, name: str, files: Sequence[str], literals: Sequence[str], env_files: Sequence[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    pairs = [p for f in files for p in _file_pairs(f)] + [p for spec in literals for p in _literal_pairs(spec)]
    pairs += [p for path in env_files for p in _env_file_pairs(path)]
    for key, value in pairs:
        errors = key_errors(key)
        if errors:
            raise InvalidInput(f'"{key}" is not a valid key name for a {kind}: {"; ".join(errors)}')
        if key in found:
            raise InvalidInput(f'cannot add key "{key}", another key by that name already exists in Data for {kind} "{name}"')
        found[key] = value
    return found


def configmap(name: str, namespace: str, files: Sequence[str], literals: Sequence[str], env_files: Sequence[str]) -> dict[str, Any]:
    """`kubectl create configmap NAME [--from-file] [--from-literal] [--from-env-file]`."""
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for key, value in _collect("ConfigMap", name, files, literals, env_files).items():
        try:
            data[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(value).decode()
    manifest: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
    if data:
        manifest["data"] = data
    if binary:
        manifest["binaryData"] = binary
    return manifest


def secret_generic(name: str, namespace: str, files: Sequence[str], literals: Sequence[str], env_files: Sequence[str], secret_type: str | None) -> dict[str, Any]:
    """`kubectl create secret generic NAME [--from-file] [--from-literal] [--from-env-file] [--type]`."""
    data = {k: base64.b64encode(v).decode() for k, v in _collect("Secret", name, files, literals, env_files).items()}
    return _secret(name, namespace, secret_type or "Opaque", data)


def secret_tls(name: str, namespace: str, cert: str | None, key: str | None) -> dict[str, Any]:
    """`kubectl create secret tls NAME --cert=PATH --key=PATH`."""
    if not cert or not key:
        raise InvalidInput("load key pair error: --cert and --key must both be given")
    data = {"tls.crt": base64.b64encode(_read(cert)).decode(), "tls.key": base64.b64encode(_read(key)).decode()}
    return _secret(name, namespace, "kubernetes.io/tls", data)


def _secret(name: str, namespace: str, secret_type: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "type": secret_type, "data": data}
