"""Name syntax rules, as Kubernetes' apimachinery/pkg/util/validation defines them.

Each `*_errors` function mirrors an upstream `IsXxx(value) []string`: it returns the reasons a
value is invalid (empty when valid), worded like Kubernetes so users recognise them. The
`is_*` functions are the boolean shorthand.
"""

from __future__ import annotations

import re

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
IANA_SVC_NAME_MAX_LENGTH = 15
LABEL_VALUE_MAX_LENGTH = 63
QUALIFIED_NAME_MAX_LENGTH = 63

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"
_DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(" + _QUALIFIED_NAME + r")?"
_ENV_VAR_NAME = r"[-._a-zA-Z][-._a-zA-Z0-9]*"

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_DNS1123_LABEL}')"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_DNS1123_SUBDOMAIN}')"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035_LABEL}')"
)
_QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    f"used for validation is '{_QUALIFIED_NAME}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)
_ENV_VAR_NAME_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', "
    "'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  "
    f"or 'MyEnvName1', regex used for validation is '{_ENV_VAR_NAME}')"
)


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def _fullmatch(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def dns1123_label_errors(value: str) -> list[str]:
    """Upstream IsDNS1123Label: pod, namespace and container names, hostnames."""
    errors = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len(DNS1123_LABEL_MAX_LENGTH))
    if not _fullmatch(_DNS1123_LABEL, value):
        errors.append(_DNS1123_LABEL_MSG)
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Upstream IsDNS1123Subdomain: node names, ExternalName targets, label-key prefixes."""
    errors = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(_max_len(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _fullmatch(_DNS1123_SUBDOMAIN, value):
        errors.append(_DNS1123_SUBDOMAIN_MSG)
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    """Upstream IsDNS1035Label: Service names, which must also be valid DNS names' first label."""
    errors = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(_max_len(DNS1123_LABEL_MAX_LENGTH))
    if not _fullmatch(_DNS1035_LABEL, value):
        errors.append(_DNS1035_LABEL_MSG)
    return errors


def iana_svc_name_errors(value: str) -> list[str]:
    """Upstream IsValidPortName: named container ports and named targetPorts (RFC 6335)."""
    errors = []
    if len(value) > IANA_SVC_NAME_MAX_LENGTH:
        errors.append(_max_len(IANA_SVC_NAME_MAX_LENGTH))
    if not _fullmatch(r"[-a-z0-9]+", value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if not re.search(r"[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def qualified_name_errors(value: str) -> list[str]:
    """Upstream IsQualifiedName: label and annotation keys, `[prefix/]name`."""
    prefix, slash, name = value.rpartition("/")
    errors = []
    if slash:
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + e for e in dns1123_subdomain_errors(prefix))
        if "/" in prefix:
            errors = [
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append("name part " + _max_len(QUALIFIED_NAME_MAX_LENGTH))
    if name and not _fullmatch(_QUALIFIED_NAME, name):
        errors.append(_QUALIFIED_NAME_MSG)
    return errors


def label_value_errors(value: str) -> list[str]:
    """Upstream IsValidLabelValue."""
    errors = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        errors.append(_max_len(LABEL_VALUE_MAX_LENGTH))
    if not _fullmatch(_LABEL_VALUE, value):
        errors.append(_LABEL_VALUE_MSG)
    return errors


def env_var_name_errors(value: str) -> list[str]:
    """Upstream IsEnvVarName."""
    return [] if _fullmatch(_ENV_VAR_NAME, value) else [_ENV_VAR_NAME_MSG]


def is_dns1123_label(value: str) -> bool:
    return not dns1123_label_errors(value)


def is_dns1123_subdomain(value: str) -> bool:
    return not dns1123_subdomain_errors(value)


def is_dns1035_label(value: str) -> bool:
    return not dns1035_label_errors(value)


def is_iana_svc_name(value: str) -> bool:
    return not iana_svc_name_errors(value)


def is_qualified_name(value: str) -> bool:
    return not qualified_name_errors(value)


def is_label_value(value: str) -> bool:
    return not label_value_errors(value)
