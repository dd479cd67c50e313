"""core/v1 Secret, as the apiserver validates and stores it (pkg/apis/core/validation
ValidateSecret): TLS certificates of Ingresses and Gateway listeners, and what pods read
as secret volumes and `secretKeyRef`/`envFrom` variables (kubelet/volumes.py, podenv.py).

- `data` values are base64 (the JSON decoding of []byte refuses anything else: `illegal
  base64 data at input byte N`); `stringData` is write-only and merged into `data` on write,
  its keys winning, so the stored object (and `get -o yaml`) has `data` only.
- Keys are config keys: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
- `type` defaults to `Opaque`; `kubernetes.io/tls` needs `tls.crt` and `tls.key`
  (`data[tls.crt]: Required value`), `kubernetes.io/basic-auth` etc. are not checked further.
  The apiserver does not parse the PEM; neither does this (nginx does, at `nginx -t`).
- The whole data is at most 1 MiB.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import StrictBool, StrictStr, model_validator

from netlab.api.field import Loc, ProblemList, invalid_value, required_value
from netlab.api.meta import ApiModel, ObjectMeta

TLS_TYPE = "kubernetes.io/tls"
TLS_CERT_KEY = "tls.crt"
TLS_PRIVATE_KEY_KEY = "tls.key"
MAX_SECRET_SIZE = 1024 * 1024
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def key_errors(key: str) -> list[str]:
    """IsConfigMapKey."""
    errors = []
    if len(key) > 253:
        errors.append("must be no more than 253 characters")
    if not _KEY.match(key):
        errors.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                      "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    if key in (".", ".."):
        errors.append(f"must not be '{key}'")
    return errors


def _decode(value: str) -> bytes | str:
    """The bytes of a `data` value, or the error Go's base64 decoding gives."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        for i, c in enumerate(value):
            if not (c.isalnum() and c.isascii() or c in "+/="):
                return f"illegal base64 data at input byte {i}"
        return f"illegal base64 data at input byte {len(value)}"


class Secret(ApiModel):
    apiVersion: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    metadata: ObjectMeta
    type: StrictStr = "Opaque"
    data: dict[StrictStr, StrictStr] = {}
    immutable: StrictBool | None = None

    @model_validator(mode="before")
    @classmethod
    def _merge_string_data(cls, raw: Any) -> Any:
        """stringData is written into data (base64) and not kept, as the apiserver does."""
        if isinstance(raw, dict) and "stringData" in raw:
            raw = dict(raw)
            string_data = raw.pop("stringData")
            if isinstance(string_data, dict):
                data = dict(raw.get("data") or {})
                for key, value in string_data.items():
                    data[key] = base64.b64encode(value.encode()).decode() if isinstance(value, str) else value
                raw["data"] = data
        return raw

    @model_validator(mode="after")
    def _secret(self) -> Secret:
        problems = ProblemList()
        size = 0
        for key, value in self.data.items():
            loc: Loc = (f"data[{key}]",)
            for e in key_errors(key):
                problems.add(loc, invalid_value(key, e))
            decoded = _decode(value)
            if isinstance(decoded, str):
                problems.add(loc, invalid_value("<secret data>", decoded))
            else:
                size += len(decoded)
        if size > MAX_SECRET_SIZE:
            problems.add(("data",), f"Too long: must have at most {MAX_SECRET_SIZE} bytes")
        if self.type == TLS_TYPE:
            for key in (TLS_CERT_KEY, TLS_PRIVATE_KEY_KEY):
                if key not in self.data:
                    problems.add((f"data[{key}]",), required_value())
        if not self.type:
            problems.add(("type",), required_value())
        problems.raise_if_any()
        return self

    def value(self, key: str) -> bytes | None:
        raw = self.data.get(key)
        return None if raw is None else base64.b64decode(raw)


__all__ = ["Secret", "TLS_TYPE", "key_errors"]
