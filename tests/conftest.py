"""Fixtures shared by the whole suite: podman's settings and a test image, loopback sshd nodes.

Tests that use a real podman or sshd fixture are marked ``podman`` / ``ssh`` here, whether or not
their module says so, so ``make test-fast`` (``-m "not podman and not ssh"``) leaves out exactly
the tests that need those. Tests on a real etcd are marked ``etcd`` (they are quick, and stay in
the fast run). Tests on a real containerd are marked ``containerd`` and, as they run real
containers too, ``podman``.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures.podman", "tests.fixtures.nodes", "tests.fixtures.netns",
                  "tests.fixtures.etcd", "tests.fixtures.containerd"]

_PODMAN = {"busybox_image", "podman_storage", "gitops_node", "node", "push_repo", "two_nodes",
           "ssh_nodes", "netns_nodes"}
_SSH = {"ssh_nodes", "two_nodes", "netns_nodes"}
_ETCD = {"etcd_server", "etcd_store", "etcd_cluster", "etcd_tls"}
#: Real containers, as podman's: also marked ``podman``, so the fast run leaves them out too.
_CONTAINERD = {"containerd_daemon", "containerd_nodes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & _PODMAN:
            item.add_marker(pytest.mark.podman)
        if used & _SSH:
            item.add_marker(pytest.mark.ssh)
        if used & _ETCD:
            item.add_marker(pytest.mark.etcd)
        if used & _CONTAINERD:
            item.add_marker(pytest.mark.containerd)
            item.add_marker(pytest.mark.podman)
