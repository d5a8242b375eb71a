"""Image references are checked by the reference grammar at validate (kubelet's InvalidImageName).

An option-like or shell-like image must never reach a node: it is refused with the field's
path when the manifest is read, and the whole revision with it.
"""

from __future__ import annotations

import pytest

from gitkube.api import images
from tests.api import manifests as m

VALID = [
    "busybox",
    "busybox:1.36",
    "localhost/gitkube-demo/web:v1",
    "docker.io/library/busybox:1.36",
    "registry.example.com:5000/team/app_v2.web-x",
    "[::1]:5000/x/y:z",
    "gcr.io/google-containers/pause:3.9",
    "busybox@sha256:" + "a" * 64,
    "busybox:1.36@sha256:" + "0f" * 32,
    "Registry.Example.com/team/app",  # upper case is fine in the registry's host name
]

FORMAT = "invalid reference format"
LOWER = "invalid reference format: repository name must be lowercase"
INVALID = [
    ("option", "--privileged", FORMAT),
    ("option-with-value", "-v=/:/host", FORMAT),
    ("shell-command", "busybox; rm -rf /", FORMAT),
    ("command-substitution", "$(touch x)", FORMAT),
    ("backticks", "`id`", FORMAT),
    ("newline", "busybox\nx", FORMAT),
    ("space-inside", "busy box", FORMAT),
    ("upper-case-name", "Busybox", LOWER),
    ("upper-case-path", "quay.io/team/Web", LOWER),
    ("empty-tag", "busybox:", FORMAT),
    ("only-a-tag", ":1.0", FORMAT),
    ("double-dot", "a..b", FORMAT),
    ("tag-too-long", "busybox:" + "t" * 129, FORMAT),
    ("short-digest", "busybox@sha256:abc", FORMAT),
    ("path-traversal", "../../etc/passwd", FORMAT),
]


@pytest.mark.parametrize("image", VALID)
def test_references_the_kubelet_parses_are_accepted(image: str) -> None:
    assert images.reference_errors(image) == []


@pytest.mark.parametrize(("image", "reason"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_other_images_are_refused_at_validate(image: str, reason: str) -> None:
    found = m.issues(m.deployment(containers=[m.container(image=image)]))
    shown = image if len(image) <= 80 else image[:80] + "..."  # a long one is cut short
    assert found == {"spec.template.spec.containers[0].image": (
        f"{shown!r} is not an image reference ({reason}; the kubelet would refuse it with "
        "InvalidImageName): write [registry/]name[:tag][@digest], such as "
        "'docker.io/library/busybox:1.36'")}


def test_init_containers_are_checked_too() -> None:
    found = m.issues(m.pod({"containers": [m.container()],
                            "initContainers": [m.container(name="init", image="-it")]}))
    assert list(found) == ["spec.initContainers[0].image"]


def test_a_name_longer_than_255_characters_is_refused() -> None:
    assert images.reference_errors("a" * 256 + ":1") == [
        "the image name must be no more than 255 characters (the kubelet would refuse it "
        "with InvalidImageName)"]
    assert images.reference_errors("a" * 255 + ":1") == []
