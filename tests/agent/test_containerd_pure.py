"""The containerd runtime's pure parts: specs, CNI configuration, image chains, records, wire.

Table tests, no containerd: what a container's OCI spec says for a pod's container
(Kubernetes' command/args rules, env over the image's, the security context), the CNI
network of a node, an image's chain id, how a container and its task read as
``reports.Seen``, and protobuf as containerd's API speaks it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from gitkube.agent.runtimes import (
    cni,
    containerd_api,
    containerd_images,
    containerd_report,
    containerd_spec,
)
from gitkube.agent.runtimes import containerd_wire as wire

IMAGE = containerd_spec.Image(env=["PATH=/bin", "MODE=image"], entrypoint=["/entry"],
                              cmd=["serve"], working_dir="/srv", user="")
POD = containerd_spec.Pod(hostname="web-1", netns="/s/net", ipcns="/s/ipc",
                          sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
                          cgroup_parent="gitkube", group="gk_c_default_web-1-0a1b2c3d")


@pytest.mark.parametrize(("container", "argv"), [
    ({}, ["/entry", "serve"]),
    ({"args": ["--debug"]}, ["/entry", "--debug"]),
    ({"command": ["sh"]}, ["sh"]),
    ({"command": ["sh"], "args": ["-c", "true"]}, ["sh", "-c", "true"]),
], ids=["image", "args-replace-cmd", "command-drops-cmd", "command-and-args"])
def test_command_and_args_follow_kubernetes(container: dict[str, Any], argv: list[str]) -> None:
    assert containerd_spec.argv(container, IMAGE) == argv  # type: ignore[arg-type]


def _spec(**container: Any) -> dict[str, Any]:
    return containerd_spec.spec({"name": "main", **container}, POD, IMAGE,  # type: ignore[typeddict-item]
                                cid="gk_c_default_web-1_main-0a1b2c3d", user=(0, 0, []),
                                env={"MODE": "pod"}, binds=[("/h/conf", "/etc/conf", True)])


def test_a_plain_container_joins_its_pods_namespaces_with_containerds_defaults() -> None:
    spec = _spec(workingDir="/work", cpuLimitMillis=250, memoryLimitBytes=2**25)
    assert spec["process"]["env"] == ["PATH=/bin", "MODE=pod"]
    assert spec["process"]["cwd"] == "/work"
    assert spec["process"]["capabilities"]["bounding"] == list(containerd_spec.DEFAULT_CAPS)
    assert spec["process"]["noNewPrivileges"] is False
    assert {"type": "network", "path": "/s/net"} in spec["linux"]["namespaces"]
    assert {"type": "ipc", "path": "/s/ipc"} in spec["linux"]["namespaces"]
    assert spec["linux"]["cgroupsPath"] == "/gitkube/gk_c_default_web-1_main-0a1b2c3d"
    assert spec["linux"]["resources"]["cpu"] == {"quota": 25000, "period": 100000}
    assert spec["linux"]["resources"]["memory"] == {"limit": 2**25}
    assert spec["linux"]["sysctl"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert "seccomp" not in spec["linux"]
    assert spec["hostname"] == "web-1" and spec["root"]["readonly"] is False
    assert spec["mounts"][-1] == {"destination": "/etc/conf", "type": "bind",
                                  "source": "/h/conf", "options": ["rbind", "ro"]}
    assert spec["annotations"] == {"io.containerd.runc.v2.group": POD.group}


@pytest.mark.parametrize(("security", "caps", "seccomp", "masked"), [
    ({"capDrop": ["ALL"], "capAdd": ["NET_BIND_SERVICE"]}, ["CAP_NET_BIND_SERVICE"], False,
     True),
    ({"capDrop": ["CAP_KILL", "chown"]},
     [c for c in containerd_spec.DEFAULT_CAPS if c not in ("CAP_KILL", "CAP_CHOWN")], False,
     True),
    ({"seccomp": "RuntimeDefault"}, list(containerd_spec.DEFAULT_CAPS), True, True),
    ({"privileged": True, "seccomp": "RuntimeDefault"}, list(containerd_spec.ALL_CAPS), False,
     False),
], ids=["drop-all-add-one", "drop-some", "runtime-default-seccomp", "privileged"])
def test_security_contexts_become_capabilities_seccomp_and_masks(
    security: dict[str, Any], caps: list[str], seccomp: bool, masked: bool,
) -> None:
    spec = _spec(security=security)
    assert spec["process"]["capabilities"]["effective"] == caps
    assert ("seccomp" in spec["linux"]) is seccomp
    assert ("maskedPaths" in spec["linux"]) is masked
    if seccomp:
        assert "unshare" in spec["linux"]["seccomp"]["syscalls"][0]["names"]


def test_a_read_only_root_and_no_new_privileges() -> None:
    spec = _spec(security={"readOnlyRootFilesystem": True, "noNewPrivileges": True})
    assert spec["root"]["readonly"] is True and spec["process"]["noNewPrivileges"] is True


@pytest.mark.parametrize(("text", "name", "found"), [
    ("root:x:0:0::/:/bin/sh\nweb:x:101:102::/:/bin/sh\n", "web", (101, 102)),
    ("root:x:0:0::/:/bin/sh\nweb:x:101:102::/:/bin/sh\n", "101", (101, 102)),
    ("root:x:0:0::/:/bin/sh\n", "nobody", None),
], ids=["by-name", "by-uid", "missing"])
def test_users_are_looked_up_in_the_images_passwd(text: str, name: str,
                                                  found: tuple[int, int] | None) -> None:
    assert containerd_spec.parse_passwd(text, name) == found


def test_the_cluster_network_is_a_bridge_on_the_pod_subnet_with_portmap() -> None:
    chain = cni.conflist("gitkube-home", "10.244.1.0/24", "10.244.1.1", "/state/ipam")
    bridge, portmap = chain["plugins"]
    assert bridge["bridge"] == cni.bridge_name("gitkube-home")
    assert len(bridge["bridge"]) <= 15 and bridge["bridge"].startswith("cni-")
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24", "gateway": "10.244.1.1"}]]
    assert portmap["capabilities"] == {"portMappings": True}
    pod = {"containers": [{"ports": [{"containerPort": 80, "hostPort": 8080},
                                     {"containerPort": 53, "protocol": "UDP"}]}]}
    assert cni.port_mappings(pod) == [  # type: ignore[arg-type]
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]


def test_an_images_chain_id_follows_the_oci_rule() -> None:
    assert containerd_images.chain_id(["sha256:a"]) == "sha256:a"
    two = containerd_images.chain_id(["sha256:a", "sha256:b"])
    assert two == "sha256:" + hashlib.sha256(b"sha256:a sha256:b").hexdigest()
    index = {"manifests": [{"digest": "sha256:arm", "platform": {"os": "linux",
                                                                  "architecture": "arm64"}},
                           {"digest": "sha256:x86", "platform": {"os": "linux",
                                                                  "architecture": "amd64"}}]}
    assert containerd_images.pick_manifest(index, "x86_64") == "sha256:x86"


LABELS = {"io.gitkube.pod-uid": "u1", "io.gitkube.container": "main",
          containerd_report.STARTED_LABEL: "1800000000.5"}


@pytest.mark.parametrize(("task", "labels", "state", "code", "finished"), [
    (containerd_api.Task("c", 42, "running", 0, 0.0), LABELS, "running", 0, 0),
    (containerd_api.Task("c", 0, "stopped", 3, 1800000009.2), LABELS, "exited", 3, 1800000009),
    (None, {k: v for k, v in LABELS.items() if k != containerd_report.STARTED_LABEL},
     "created", 0, 0),
    (None, LABELS, "exited", 255, 1800000000),
], ids=["running", "exited", "never-started", "task-lost"])
def test_a_container_and_its_task_read_as_kubelet_would_see_them(
    task: containerd_api.Task | None, labels: dict[str, str], state: str, code: int,
    finished: int,
) -> None:
    container = containerd_api.Container("c", labels, "img", "c", 0.0)
    seen = containerd_report.seen(container, task)
    assert (seen.id, seen.state, seen.exit_code, seen.finished) == (
        "containerd://c", state, code, finished)


def test_protobuf_round_trips_as_containerds_api_reads_it() -> None:
    message = wire.encode([(1, "id"), *wire.string_map(2, {"b": "2", "a": "1"}), (3, 0),
                           (4, True), (5, wire.encode([(1, 1800000000), (2, 5)]))])
    decoded = wire.decode(message)
    assert wire.text(decoded, 1) == "id" and wire.number(decoded, 4) == 1
    assert wire.labels(decoded, 2) == {"a": "1", "b": "2"}
    assert 3 not in decoded, "proto3 leaves defaults out"
    assert wire.seconds(decoded, 5) == pytest.approx(1800000000.000000005)
    go_zero = wire.encode([(10, wire.encode([(1, -62135596800)]))])
    assert wire.seconds(wire.decode(go_zero), 10) == 0.0
