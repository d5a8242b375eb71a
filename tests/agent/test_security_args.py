"""The agent's pure security helpers: kubelet's runAsNonRoot check, podman flags, resolv.conf."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.agent import security
from gitkube.agent.runtimes import podman_args

POD = "web_default(uid-1)"


@pytest.mark.parametrize(
    ("context", "image_user", "expected"),
    [
        pytest.param({}, "", None, id="not-asked"),
        pytest.param({"runAsNonRoot": True}, "", "container has runAsNonRoot and image will "
                     "run as root (pod: \"web_default(uid-1)\", container: app)",
                     id="image-without-user-is-root"),
        pytest.param({"runAsNonRoot": True}, "0:0", "container has runAsNonRoot and image "
                     "will run as root (pod: \"web_default(uid-1)\", container: app)",
                     id="image-uid-0"),
        pytest.param({"runAsNonRoot": True}, "nginx", "container has runAsNonRoot and image "
                     "has non-numeric user (nginx), cannot verify user is non-root (pod: "
                     "\"web_default(uid-1)\", container: app)", id="image-user-name"),
        pytest.param({"runAsNonRoot": True}, "101:101", None, id="image-uid-101"),
        pytest.param({"runAsNonRoot": True, "runAsUser": 0}, "101",
                     "container's runAsUser breaks non-root policy (pod: "
                     "\"web_default(uid-1)\", container: app)", id="run-as-root"),
        pytest.param({"runAsNonRoot": True, "runAsUser": 1000}, "", None, id="run-as-1000"),
    ],
)
def test_non_root_problem(context: dict[str, Any], image_user: str,
                          expected: str | None) -> None:
    problem = security.non_root_problem(context, image_user, POD, "app")  # type: ignore[arg-type]
    assert problem == expected


@pytest.mark.parametrize(
    ("context", "image_user", "expected"),
    [
        pytest.param({}, "", [], id="nothing"),
        pytest.param({"runAsUser": 1000, "runAsGroup": 3000}, "", ["--user", "1000:3000"],
                     id="user-and-group"),
        pytest.param({"runAsGroup": 3000}, "nginx:nginx", ["--user", "nginx:3000"],
                     id="group-keeps-image-user"),
        pytest.param({"groups": [2000, 4000]}, "",
                     ["--group-add", "2000", "--group-add", "4000"], id="groups"),
        pytest.param({"readOnlyRootFilesystem": True}, "",
                     ["--read-only", "--read-only-tmpfs=false"], id="read-only"),
        pytest.param({"capDrop": ["ALL"], "capAdd": ["NET_BIND_SERVICE"]}, "",
                     ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"], id="caps"),
        pytest.param({"seccomp": "Unconfined", "appArmor": "Unconfined"}, "",
                     ["--security-opt", "seccomp=unconfined", "--security-opt",
                      "apparmor=unconfined"], id="unconfined"),
        pytest.param({"seccomp": "RuntimeDefault", "appArmor": "RuntimeDefault"}, "", [],
                     id="runtime-default-is-podmans"),
        pytest.param({"seLinux": {"type": "spc_t"}}, "", ["--security-opt", "label=type:spc_t"],
                     id="selinux"),
    ],
)
def test_run_args(context: dict[str, Any], image_user: str, expected: list[str]) -> None:
    assert podman_args.run_args(context, image_user) == expected  # type: ignore[arg-type]


HOST = """# generated
nameserver 10.0.0.2
nameserver 127.0.0.53
search corp.example
options ndots:1 timeout:2
"""


@pytest.mark.parametrize(
    ("dns", "expected"),
    [
        pytest.param({"policy": "Default", "searches": ["svc.example", "corp.example"]},
                     (["10.0.0.2"], ["corp.example", "svc.example"], ["ndots:1", "timeout:2"]),
                     id="default-appends-searches-without-duplicates"),
        pytest.param({"policy": "Default", "nameservers": ["192.0.2.1"],
                      "options": ["ndots:5", "edns0"]},
                     (["10.0.0.2", "192.0.2.1"], ["corp.example"],
                      ["timeout:2", "ndots:5", "edns0"]), id="default-options-override"),
        pytest.param({"policy": "None", "nameservers": ["192.0.2.1"]},
                     (["192.0.2.1"], [], []), id="none-is-only-the-config"),
    ],
)
def test_resolver(dns: dict[str, Any], expected: tuple[list[str], ...]) -> None:
    assert security.resolver(dns, HOST) == expected  # type: ignore[arg-type]


def test_pod_args() -> None:
    pod: Any = {"sysctls": {"net.ipv4.tcp_syncookies": "0"},
                "dns": {"policy": "None", "nameservers": ["192.0.2.1"], "options": ["edns0"]}}
    assert podman_args.pod_args(pod, HOST) == [
        "--sysctl", "net.ipv4.tcp_syncookies=0", "--dns", "192.0.2.1", "--dns-option", "edns0"]
