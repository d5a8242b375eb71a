"""Values the agent hands podman are never read as options: ``--`` comes before each of them.

Validation refuses option-like images and names long before a node sees them; this is the
node's own guard. Without ``--``, ``podman image exists --help`` prints help and exits 0,
so an image named ``--help`` would count as present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitkube.agent.runtimes import base, kinds

from .storage import Storage

pytestmark = pytest.mark.podman


@pytest.fixture
def runtime(podman_storage: Storage, tmp_path: Path) -> base.Runtime:
    return kinds.make(podman_storage.runtime(tmp_path), tmp_path, "node-1")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["--help", "--version", "-v"])
def test_an_option_like_image_is_an_image_that_is_not_there(runtime: base.Runtime,
                                                            value: str) -> None:
    assert runtime.has_image(value) is False
    with pytest.raises(base.RuntimeFailure, match="invalid reference format"):
        runtime.pull_image(value)


def test_an_option_like_container_id_is_a_container_that_is_not_there(
        runtime: base.Runtime) -> None:
    ok, said = runtime.exec_in("--help", ["true"], timeout=30)
    assert not ok and "no container with name or ID" in said, said
    with pytest.raises(base.RuntimeFailure, match="no container with name or ID"):
        runtime.start_container("--help")
