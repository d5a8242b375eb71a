"""Fixtures shared by the whole suite: podman's settings and a test image, loopback sshd nodes."""

pytest_plugins = ["tests.fixtures.podman", "tests.fixtures.nodes"]
