"""core/v1 ConfigMap, as the apiserver validates and stores it (pkg/apis/core/validation
ValidateConfigMap): configuration that pods read as files (a `configMap` volume) or as
environment variables (`configMapKeyRef`, `envFrom`) — kubelet/volumes.py and podenv.py.

- `data` holds UTF-8 strings, `binaryData` base64 (decoded as the JSON decoding of []byte
  does: `illegal base64 data at input byte N`); a key may not be in both (`Invalid value:
  "k": duplicate of key present in data`).
- Keys are config keys (secret.key_errors: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`
  or `..`).
- The values of data and binaryData together are at most 1 MiB (`Too long: must have at most 1048576
  bytes`).
- `immutable: true` is kept; the apiserver then refuses changes to data (admission.py).
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import StrictBool, StrictStr, model_validator

from netlab.api.field import Loc, ProblemList, invalid_value
from netlab.api.meta import ApiModel, ObjectMeta
from netlab.api.secret import MAX_SECRET_SIZE, _decode, key_errors

MAX_CONFIGMAP_SIZE = MAX_SECRET_SIZE  # corev1.MaxSecretSize, which ValidateConfigMap uses too


class ConfigMap(ApiModel):
    apiVersion: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    metadata: ObjectMeta
    data: dict[StrictStr, StrictStr] = {}
    binaryData: dict[StrictStr, StrictStr] = {}
    immutable: StrictBool | None = None

    @model_validator(mode="after")
    def _configmap(self) -> ConfigMap:
        problems = ProblemList()
        size = 0
        for key, value in self.data.items():
            loc: Loc = ("data",)
            for e in key_errors(key):
                problems.add(loc, invalid_value(key, e))
            size += len(value.encode())
        for key, value in self.binaryData.items():
            loc = ("binaryData",)
            for e in key_errors(key):
                problems.add(loc, invalid_value(key, e))
            if key in self.data:
                problems.add(("data",), invalid_value(key, "duplicate of key present in binaryData"))
            decoded = _decode(value)
            if isinstance(decoded, str):
                problems.add((f"binaryData[{key}]",), invalid_value("<binary data>", decoded))
            else:
                size += len(decoded)
        if size > MAX_CONFIGMAP_SIZE:
            problems.add((), f"Too long: must have at most {MAX_CONFIGMAP_SIZE} bytes")
        problems.raise_if_any()
        return self

    def value(self, key: str) -> bytes | None:
        """The bytes of a key of data or binaryData (None when it has none)."""
        if key in self.data:
            return self.data[key].encode()
        if key in self.binaryData:
            return base64.b64decode(self.binaryData[key])
        return None

    def keys(self) -> list[str]:
        return [*self.data, *self.binaryData]


__all__ = ["ConfigMap", "MAX_CONFIGMAP_SIZE"]
