"""Image references: the OCI/Docker reference grammar, checked when a manifest is read.

Kubernetes' API server accepts any string as ``image``; the kubelet parses it when it
starts the container and leaves a pod it cannot parse waiting with ``InvalidImageName``
("couldn't parse image name: invalid reference format"). gitkube checks the same
grammar at validate, so that a reference such as ``--privileged``, ``busybox; rm -rf /``
or ``$(touch x)`` never reaches a node: the whole revision is refused with file:line.

The grammar is ``github.com/distribution/reference``'s (``regexp.go``), which the kubelet,
containerd and podman all use::

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ domain "/" ] path-component [ "/" path-component ]*
    domain    := host [ ":" port ]          (a DNS name, or an IPv6 address in brackets)

with the repository part in lower case and the name at most 255 characters.
"""

from __future__ import annotations

import re

_ALPHANUMERIC = "[a-z0-9]+"
_SEPARATOR = "(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = f"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = f"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(f"({_NAME})(?::{_TAG})?(?:@{_DIGEST})?", re.ASCII)

#: ``NameTotalLengthMax`` of the reference package.
NAME_MAX = 255
EXAMPLE = "docker.io/library/busybox:1.36"


def reference_errors(image: str) -> list[str]:
    """Why ``image`` is not an image reference the kubelet could parse (empty when it is)."""
    match = _REFERENCE.fullmatch(image)
    if match is None:
        shown = repr(image if len(image) <= 80 else image[:80] + "...")
        return [f"{shown} is not an image reference ({_reason(image)}; the kubelet would "
                f"refuse it with InvalidImageName): write [registry/]name[:tag][@digest], such "
                f"as '{EXAMPLE}'"]
    if len(match.group(1)) > NAME_MAX:
        return [f"the image name must be no more than {NAME_MAX} characters (the kubelet would "
                "refuse it with InvalidImageName)"]
    return []


def _reason(image: str) -> str:
    """The reference package's word for what is wrong, as the kubelet's message says it."""
    if not image:
        return "invalid reference format: repository name must have at least one component"
    name = image.split("@", 1)[0]
    remote = name.split("/", 1)[1] if "/" in name and _looks_like_domain(name) else name
    if remote.rsplit(":", 1)[0] != remote.rsplit(":", 1)[0].lower():
        return "invalid reference format: repository name must be lowercase"
    return "invalid reference format"


def _looks_like_domain(name: str) -> bool:
    first = name.split("/", 1)[0]
    return "." in first or ":" in first or first == "localhost" or first != first.lower()
