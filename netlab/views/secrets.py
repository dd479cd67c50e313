"""`get` and `describe` for Secret, ConfigMap and ReferenceGrant, with kubectl's columns: a
Secret's row is NAME TYPE DATA AGE and its description lists each key with its size in bytes,
never the value (kubectl's SecretDescriber); a ConfigMap's row is NAME DATA AGE (DATA counts
data and binaryData) and its description prints each value (ConfigMapDescriber); `get -o
yaml` shows `data`, as kubectl does."""

from __future__ import annotations

import time

from netlab.api.labels import Selector
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.views.objects import age, metadata


def _select(objs: list[StoredObject], selector: Selector | None) -> list[StoredObject]:
    if selector is None:
        return objs
    return [o for o in objs if selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})]


def secrets(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("Secret", namespace), selector):
        row = [o.name, o.manifest.get("type", "Opaque"), str(len(o.manifest.get("data") or {})), age(o.created, now)]
        rows.append(([o.namespace] if namespace is None else []) + row)
        docs.append({**o.manifest, "metadata": metadata(o)})
    headers = ["NAME", "TYPE", "DATA", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def configmaps(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("ConfigMap", namespace), selector):
        count = len(o.manifest.get("data") or {}) + len(o.manifest.get("binaryData") or {})
        rows.append(([o.namespace] if namespace is None else []) + [o.name, str(count), age(o.created, now)])
        docs.append({**o.manifest, "metadata": metadata(o)})
    headers = ["NAME", "DATA", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def referencegrants(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    rows, docs = [], []
    for o in _select(lab.store.list("ReferenceGrant", namespace), selector):
        rows.append(([o.namespace] if namespace is None else []) + [o.name, age(o.created, now)])
        docs.append({**o.manifest, "metadata": metadata(o)})
    headers = ["NAME", "AGE"]
    return (["NAMESPACE"] + headers if namespace is None else headers), rows, docs


def _pairs(values: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in (values or {}).items()) or "<none>"


def _head(o: StoredObject, meta) -> list[str]:
    """kubectl's first lines of a Secret or ConfigMap, and the blank line after them."""
    return [
        f"{'Name:':<14}{o.name}",
        f"{'Namespace:':<14}{o.namespace}",
        f"{'Labels:':<14}{_pairs(meta.labels)}",
        f"{'Annotations:':<14}{_pairs(meta.annotations)}",
        "",
    ]


def describe_secret(lab: Lab, o: StoredObject) -> list[str]:
    from netlab.api.secret import Secret

    secret = Secret.model_validate(o.manifest)
    lines = [
        *_head(o, secret.metadata),
        f"Type:  {secret.type}",
        "",
        "Data",
        "====",
    ]
    for key in sorted(secret.data):
        lines.append(f"{key}:  {len(secret.value(key) or b'')} bytes")
    return lines


def describe_configmap(lab: Lab, o: StoredObject) -> list[str]:
    from netlab.api.configmap import ConfigMap

    cm = ConfigMap.model_validate(o.manifest)
    lines = [
        *_head(o, cm.metadata),
        "Data",
        "====",
    ]
    for key in sorted(cm.data):
        lines += [f"{key}:", "----", *cm.data[key].split("\n")]
    lines += ["", "BinaryData", "===="]
    for key in sorted(cm.binaryData):
        lines.append(f"{key}: {len(cm.value(key) or b'')} bytes")
    lines.append("")
    return lines


def describe_referencegrant(lab: Lab, o: StoredObject) -> list[str]:
    spec = o.manifest.get("spec") or {}
    lines = [f"{'Name:':<14}{o.name}", f"{'Namespace:':<14}{o.namespace}", "From:"]
    lines += [f"  {f.get('group') or 'core'}/{f['kind']} in namespace {f['namespace']}" for f in spec.get("from", [])]
    lines.append("To:")
    lines += [f"  {t.get('group') or 'core'}/{t['kind']} {t.get('name') or '(any name)'}" for t in spec.get("to", [])]
    return lines
