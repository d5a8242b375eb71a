"""Name rules of Kubernetes objects, labels, keys and ports, with Kubernetes' messages.

Every function returns a list of problems (empty when the value is valid), like
``k8s.io/apimachinery/pkg/util/validation``, so a caller can attach them to a
field path. Patterns are compiled once at import: names are checked for every
object of every revision.
"""

from __future__ import annotations

import re

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = rf"({_QUALIFIED_NAME})?"
_ENV_VAR_NAME = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_KEY = "[-._a-zA-Z0-9]+"

_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(_LABEL)
_DNS1035_RE = re.compile(_DNS1035)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE)
_ENV_VAR_NAME_RE = re.compile(_ENV_VAR_NAME)
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY)
_PORT_NAME_CHARS_RE = re.compile("[-a-z0-9]+")
_HAS_LETTER_RE = re.compile("[a-z]")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
CONFIG_KEY_MAX = 253
PORT_NAME_MAX = 15
#: The apiserver's ``names.SimpleNameGenerator``: a ``generateName`` base is cut to 58
#: characters before the 5 random ones are added, so a generated name fits in 63.
GENERATED_SUFFIX_LENGTH = 5
GENERATED_BASE_MAX = LABEL_MAX - GENERATED_SUFFIX_LENGTH


def generated_name(base: str, suffix: str) -> str:
    """``base`` + ``suffix`` as Kubernetes' generateName makes it: the base cut to 58 characters.

    ``base`` ends with its separator (``web-7d4b9c-``), as a ``generateName`` does.
    """
    return base[:GENERATED_BASE_MAX] + suffix


def indexed_generated_name(name: str, index: int, suffix: str) -> str:
    """``<name>-<index>-<suffix>``, the name cut so that the index always stays (the Job
    controller's ``podGenerateNameWithIndex``)."""
    append = f"-{index}-"
    base = name + append
    if len(base) > GENERATED_BASE_MAX:
        base = base[:GENERATED_BASE_MAX - len(append)] + append
    return base + suffix


def controller_revision_name(owner: str, digest: str) -> str:
    """``<owner>-<digest>``, the owner's name cut to 223 characters so that the name is a
    valid object name (Kubernetes' ``ControllerRevisionName``)."""
    return f"{owner[:223]}-{digest}"


def pod_hostname(pod_name: str) -> str:
    """The hostname a pod gets from its name: at most 63 characters, as kubelet cuts it
    (``truncatePodHostnameIfNeeded``), without a trailing ``-`` or ``.``."""
    if len(pod_name) <= LABEL_MAX:
        return pod_name
    return pod_name[:LABEL_MAX].rstrip("-.")


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label_errors(value: str) -> list[str]:
    """Namespace, container, volume names: ``my-name``, at most 63 characters."""
    problems = []
    if len(value) > LABEL_MAX:
        problems.append(_too_long(LABEL_MAX))
    if not _LABEL_RE.fullmatch(value):
        problems.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
            "or '-', and must start and end with an alphanumeric character "
            f"(e.g. 'my-name' or '123-abc', regex used for validation is '{_LABEL}')"
        )
    return problems


def dns1035_label_errors(value: str) -> list[str]:
    """Service names: a label that starts with a letter (it becomes a DNS name and the
    prefix of environment variables)."""
    problems = []
    if len(value) > LABEL_MAX:
        problems.append(_too_long(LABEL_MAX))
    if not _DNS1035_RE.fullmatch(value):
        problems.append(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character "
            f"(e.g. 'my-name', or 'abc-123', regex used for validation is '{_DNS1035}')"
        )
    return problems


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Most object names: ``example.com``, at most 253 characters."""
    problems = []
    if len(value) > SUBDOMAIN_MAX:
        problems.append(_too_long(SUBDOMAIN_MAX))
    if not _SUBDOMAIN_RE.fullmatch(value):
        problems.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character "
            f"(e.g. 'example.com', regex used for validation is '{_SUBDOMAIN}')"
        )
    return problems


def qualified_name_errors(value: str) -> list[str]:
    """Label and annotation keys: an optional DNS subdomain prefix and ``/``, then a name."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        problems: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            problems = ["prefix part must be non-empty"]
        else:
            problems = [f"prefix part {p}" for p in dns1123_subdomain_errors(prefix)]
    else:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character, with an optional DNS subdomain "
            "prefix and '/' (e.g. 'MyName', 'my.name' or 'example.com/MyName')"
        ]
    if not name:
        problems.append("name part must be non-empty")
        return problems
    if len(name) > LABEL_MAX:
        problems.append(f"name part {_too_long(LABEL_MAX)}")
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or "
            f"'123-abc', regex used for validation is '{_QUALIFIED_NAME}')"
        )
    return problems


def label_value_errors(value: str) -> list[str]:
    """Label values: empty, or a name of at most 63 characters."""
    problems = []
    if len(value) > LABEL_MAX:
        problems.append(_too_long(LABEL_MAX))
    if not _LABEL_VALUE_RE.fullmatch(value):
        problems.append(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character "
            f"(e.g. 'MyValue', 'my_value' or '12345', regex used for validation is "
            f"'{_LABEL_VALUE}')"
        )
    return problems


def env_var_name_errors(value: str) -> list[str]:
    if _ENV_VAR_NAME_RE.fullmatch(value):
        return []
    return [
        "a valid environment variable name must consist of alphabetic characters, digits, "
        "'_', '-', or '.', and must not start with a digit (e.g. 'my.env-name' or "
        f"'MY_ENV.NAME' or 'MyEnvName1', regex used for validation is '{_ENV_VAR_NAME}')"
    ]


def config_map_key_errors(value: str) -> list[str]:
    """Keys of ConfigMap and Secret data: file names a volume can hold."""
    problems = []
    if len(value) > CONFIG_KEY_MAX:
        problems.append(_too_long(CONFIG_KEY_MAX))
    if not _CONFIG_KEY_RE.fullmatch(value):
        problems.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            f"(e.g. 'key.name', 'KEY_NAME' or 'key-name', regex used for validation is "
            f"'{_CONFIG_KEY}')"
        )
    if value in (".", ".."):
        problems.append(f"must not be '{value}'")
    elif value.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def port_name_errors(value: str) -> list[str]:
    """Named ports (IANA service names): ``http``, at most 15 characters, one letter at least."""
    problems = []
    if len(value) > PORT_NAME_MAX:
        problems.append(_too_long(PORT_NAME_MAX))
    if not _PORT_NAME_CHARS_RE.fullmatch(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if not _HAS_LETTER_RE.search(value):
        problems.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems
