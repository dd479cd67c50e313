"""A Pod's volumes and each container's volumeMounts and envFrom, with pkg/apis/core/validation's
checks (validateVolumes, ValidateVolumeMounts, validateEnvFrom). The kubelet materialises the
volumes under the pod's directory and mounts them in the container's own mount namespace
(kubelet/volumes.py, kernel/mounts.py).

Honoured sources: `configMap`, `secret`, `emptyDir`, `downwardAPI` and `projected` (of those
three). `hostPath` is refused: it would hand a pod a directory of this host. Any other source
(persistentVolumeClaim, nfs, …) is kept and warned about by the loader, and mounted as an
empty directory so the pod still starts.
"""

from __future__ import annotations

import posixpath
from typing import Any

from pydantic import StrictBool, StrictInt, StrictStr, field_validator, model_validator

from netlab.api.downward import field_path_error
from netlab.api.field import ProblemList, field_error, forbidden, invalid_value, required_value
from netlab.api.meta import ApiModel, DNS1123Label, DNS1123Subdomain, EnvVarName
from netlab.api.secret import key_errors

MAX_MODE = 0o777


def _mode_errors(value: int | None) -> list[str]:
    if value is not None and not 0 <= value <= MAX_MODE:
        return ["must be a number between 0 and 0777 (octal), both inclusive"]
    return []


def relative_path_errors(path: str) -> list[str]:
    """validateLocalDescendingPath: relative, and no `..` element."""
    errors = []
    if path.startswith("/"):
        errors.append("must be a relative path")
    if ".." in path.split("/"):
        errors.append("must not contain '..'")
    return errors


class KeyToPath(ApiModel):
    key: StrictStr
    path: StrictStr
    mode: StrictInt | None = None

    @model_validator(mode="after")
    def _check(self) -> KeyToPath:
        problems = ProblemList()
        for e in key_errors(self.key):
            problems.add(("key",), invalid_value(self.key, e))
        if not self.path:
            problems.add(("path",), required_value())
        for e in relative_path_errors(self.path):
            problems.add(("path",), invalid_value(self.path, e))
        if self.path.startswith(".."):
            problems.add(("path",), invalid_value(self.path, "must not start with '..'"))
        for e in _mode_errors(self.mode):
            problems.add(("mode",), invalid_value(self.mode, e))
        problems.raise_if_any()
        return self


class _Modes(ApiModel):
    defaultMode: StrictInt | None = None

    @field_validator("defaultMode")
    @classmethod
    def _default_mode(cls, value: int | None) -> int | None:
        errors = _mode_errors(value)
        if errors:
            raise field_error(invalid_value(value, errors[0]))
        return value


class ConfigMapVolumeSource(_Modes):
    name: DNS1123Subdomain
    items: list[KeyToPath] = []
    optional: StrictBool | None = None


class SecretVolumeSource(_Modes):
    secretName: DNS1123Subdomain
    items: list[KeyToPath] = []
    optional: StrictBool | None = None


class EmptyDirVolumeSource(ApiModel):
    medium: StrictStr = ""
    sizeLimit: StrictStr | StrictInt | None = None  # accepted, not enforced

    @field_validator("medium")
    @classmethod
    def _medium(cls, value: str) -> str:
        if value not in ("", "Memory"):
            raise field_error(invalid_value(value, 'supported values: "", "Memory"'))
        return value


class DownwardFieldRef(ApiModel):
    apiVersion: StrictStr = "v1"
    fieldPath: StrictStr

    @field_validator("fieldPath")
    @classmethod
    def _known(cls, value: str) -> str:
        # In a volume the whole label and annotation maps are allowed too.
        if value in ("metadata.labels", "metadata.annotations"):
            return value
        error = field_path_error(value)
        if error:
            raise field_error(error)
        return value


class DownwardAPIVolumeFile(ApiModel):
    _warn_when_set = {"resourceFieldRef": "not supported by netlab (no resources), ignored: the file is empty"}

    path: StrictStr
    fieldRef: DownwardFieldRef | None = None
    resourceFieldRef: dict[str, Any] | None = None
    mode: StrictInt | None = None

    @model_validator(mode="after")
    def _check(self) -> DownwardAPIVolumeFile:
        problems = ProblemList()
        for e in relative_path_errors(self.path):
            problems.add(("path",), invalid_value(self.path, e))
        if (self.fieldRef is None) == (self.resourceFieldRef is None):
            problems.add((), invalid_value("", "must specify one of: `fieldRef` or `resourceFieldRef`"))
        for e in _mode_errors(self.mode):
            problems.add(("mode",), invalid_value(self.mode, e))
        problems.raise_if_any()
        return self


class DownwardAPIVolumeSource(_Modes):
    items: list[DownwardAPIVolumeFile] = []


class _ProjectedConfigMap(ApiModel):
    name: DNS1123Subdomain
    items: list[KeyToPath] = []
    optional: StrictBool | None = None


class _ProjectedSecret(ApiModel):
    name: DNS1123Subdomain
    items: list[KeyToPath] = []
    optional: StrictBool | None = None


class _ProjectedDownwardAPI(ApiModel):
    items: list[DownwardAPIVolumeFile] = []


class VolumeProjection(ApiModel):
    _warn_when_set = {"serviceAccountToken": "not supported by netlab (no tokens), ignored", "clusterTrustBundle": "not supported by netlab, ignored"}

    configMap: _ProjectedConfigMap | None = None
    secret: _ProjectedSecret | None = None
    downwardAPI: _ProjectedDownwardAPI | None = None
    serviceAccountToken: dict[str, Any] | None = None
    clusterTrustBundle: dict[str, Any] | None = None


class ProjectedVolumeSource(_Modes):
    sources: list[VolumeProjection] = []


SOURCES = ("configMap", "secret", "emptyDir", "downwardAPI", "projected", "hostPath")


class Volume(ApiModel):
    name: DNS1123Label
    configMap: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    emptyDir: EmptyDirVolumeSource | None = None
    downwardAPI: DownwardAPIVolumeSource | None = None
    projected: ProjectedVolumeSource | None = None
    hostPath: dict[str, Any] | None = None  # declared only to refuse it

    @field_validator("hostPath")
    @classmethod
    def _no_host_path(cls, value: Any) -> Any:
        if value is not None:
            raise field_error(forbidden(
                "netlab does not mount host directories into pods (a pod's files stay inside netlab's state); "
                "use an emptyDir, configMap or secret volume"
            ))  # fmt: skip
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        given = [s for s in SOURCES if getattr(self, s) is not None]
        if len(given) > 1:
            raise field_error(forbidden(f"may not specify more than 1 volume type (given: {', '.join(given)})"))
        if not given and not self.model_extra:
            raise field_error(required_value("must specify a volume type"))
        return self

    @property
    def kind(self) -> str:
        """The source netlab acts on: one of SOURCES, or emptyDir for an unmodelled one."""
        return next((s for s in SOURCES if getattr(self, s) is not None), "emptyDir")


class VolumeMount(ApiModel):
    _warn_when_set = {
        "subPathExpr": "not supported by netlab, ignored: the whole volume is mounted",
        "mountPropagation": "not supported by netlab, ignored: mounts stay private to the container",
    }

    name: StrictStr
    mountPath: StrictStr
    readOnly: StrictBool | None = None
    subPath: StrictStr = ""
    subPathExpr: StrictStr | None = None
    mountPropagation: StrictStr | None = None

    @model_validator(mode="after")
    def _check(self) -> VolumeMount:
        problems = ProblemList()
        if not self.mountPath:
            problems.add(("mountPath",), required_value())
        elif not self.mountPath.startswith("/"):
            problems.add(("mountPath",), invalid_value(self.mountPath, "must be an absolute path (netlab's containers share the host's root)"))
        elif posixpath.normpath(self.mountPath) == "/":
            problems.add(("mountPath",), invalid_value(self.mountPath, "must not be the root directory"))
        if ":" in self.mountPath:
            problems.add(("mountPath",), invalid_value(self.mountPath, "must not contain ':'"))
        for e in relative_path_errors(self.subPath):
            problems.add(("subPath",), invalid_value(self.subPath, e))
        problems.raise_if_any()
        return self


class ConfigMapEnvSource(ApiModel):
    name: DNS1123Subdomain
    optional: StrictBool | None = None


class SecretEnvSource(ApiModel):
    name: DNS1123Subdomain
    optional: StrictBool | None = None


class EnvFromSource(ApiModel):
    prefix: StrictStr = ""
    configMapRef: ConfigMapEnvSource | None = None
    secretRef: SecretEnvSource | None = None

    @model_validator(mode="after")
    def _check(self) -> EnvFromSource:
        problems = ProblemList()
        if (self.configMapRef is None) == (self.secretRef is None):
            problems.add((), invalid_value("", "may not have more than one field specified at a time")
                         if self.configMapRef else required_value("must specify one of: `configMapRef` or `secretRef`"))  # fmt: skip
        if self.prefix:
            from netlab.api.names import env_var_name_errors

            for e in env_var_name_errors(self.prefix):
                problems.add(("prefix",), invalid_value(self.prefix, e))
        problems.raise_if_any()
        return self


class KeySelector(ApiModel):
    """configMapKeyRef and secretKeyRef."""

    name: DNS1123Subdomain
    key: StrictStr
    optional: StrictBool | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        errors = key_errors(value)
        if errors:
            raise field_error(invalid_value(value, "; ".join(errors)))
        return value


def mount_problems(volumes: list[Volume], containers: list[Any]) -> list[tuple[tuple, str]]:
    """The cross-field checks: unique volume names, mounts naming a volume, unique mountPaths."""
    problems: list[tuple[tuple, str]] = []
    names: set[str] = set()
    for i, v in enumerate(volumes):
        if v.name in names:
            from netlab.api.field import duplicate_value

            problems.append((("volumes", i, "name"), duplicate_value(v.name)))
        names.add(v.name)
    for i, c in enumerate(containers):
        paths: set[str] = set()
        for j, m in enumerate(c.volumeMounts):
            if m.name not in names:
                problems.append((("containers", i, "volumeMounts", j, "name"), f'Not found: "{m.name}"'))
            if m.mountPath in paths:
                problems.append((("containers", i, "volumeMounts", j, "mountPath"), invalid_value(m.mountPath, "must be unique")))
            paths.add(m.mountPath)
    return problems


__all__ = ["EnvFromSource", "KeySelector", "Volume", "VolumeMount", "mount_problems"]
