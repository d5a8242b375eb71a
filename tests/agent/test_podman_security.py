"""securityContext, sysctls, DNS and lifecycle hooks against a real podman.

What a user checks from inside the container: who it runs as, what it may write, which
capabilities it holds, what resolv.conf says; and that hooks run when Kubernetes runs
them. Pods stop with short grace periods (busybox ``sleep`` as PID 1 ignores SIGTERM).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gitkube.agent.runtimes import podman

from .helpers import pod_run, until
from .storage import Storage
from .test_podman import Agent, podman_name

pytestmark = pytest.mark.podman

#: CAP_NET_RAW's bit in /proc/self/status CapEff.
NET_RAW = 1 << 13


def _sleeper(image: str, **extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": image, "command": ["sleep", "1000"], **extra}


def _exec(storage: Storage, agent: Agent, container: str, script: str) -> tuple[int, str]:
    done = storage.podman("exec", podman_name(agent, container), "sh", "-c", script, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def _cap_eff(storage: Storage, agent: Agent, container: str) -> int:
    code, out = _exec(storage, agent, container, "cat /proc/self/status")
    assert code == 0, out
    line = next(line for line in out.splitlines() if line.startswith("CapEff:"))
    return int(line.split()[1], 16)


def test_the_container_runs_as_the_user_and_groups_asked_for(
    agent: Agent, podman_storage: Storage,
) -> None:
    secret = base64.b64encode(b"s3cret").decode()
    container = _sleeper(podman_storage.image, security={
        "runAsUser": 1000, "runAsGroup": 3000, "groups": [2000, 4000]},
        files=[{"path": "/etc/creds/password", "content": secret, "mode": 0o400,
                "volume": "creds", "mountPath": "/etc/creds"}],
        mounts=[{"volume": "scratch", "mountPath": "/scratch"}])
    agent("converge", pods=[pod_run("who", [container], fsGroup=2000,
                                    volumes=[{"name": "scratch", "kind": "emptyDir"}])])
    code, out = _exec(podman_storage, agent, "who_app",
                      "busybox id -u; busybox id -g; busybox id -G")
    assert (code, out.splitlines()) == (0, ["1000", "3000", "3000 2000 4000"])
    # fsGroup makes the 0400 Secret file group-readable, so user 1000 can read it ...
    assert _exec(podman_storage, agent, "who_app", "cat /etc/creds/password") == (0, "s3cret")
    # ... and the emptyDir group-owned and group-writable (setgid: new files inherit it).
    code, out = _exec(podman_storage, agent, "who_app",
                      "echo x > /scratch/f && ls -ln /scratch/f")
    assert code == 0 and out.split()[3] == "2000", out


def test_a_read_only_root_filesystem_refuses_writes(
    agent: Agent, podman_storage: Storage,
) -> None:
    container = _sleeper(podman_storage.image, security={"readOnlyRootFilesystem": True})
    agent("converge", pods=[pod_run("ro", [container])])
    code, out = _exec(podman_storage, agent, "ro_app", "echo x > /x")
    assert code != 0 and "Read-only file system" in out
    # Kubernetes adds no tmpfs on /tmp (podman would): it is read-only too.
    assert _exec(podman_storage, agent, "ro_app", "echo x > /tmp/x")[0] != 0


def test_a_dropped_capability_is_gone_and_an_added_one_is_there(
    agent: Agent, podman_storage: Storage,
) -> None:
    image = podman_storage.image
    agent("converge", pods=[pod_run("caps", [
        {**_sleeper(image), "name": "plain"},
        {**_sleeper(image, security={"capDrop": ["NET_RAW"], "capAdd": ["NET_ADMIN"],
                                     "noNewPrivileges": True}), "name": "hardened"},
    ])])
    assert _cap_eff(podman_storage, agent, "caps_plain") & NET_RAW
    hardened = _cap_eff(podman_storage, agent, "caps_hardened")
    assert not hardened & NET_RAW
    assert hardened & (1 << 12), "CAP_NET_ADMIN was added"
    _code, out = _exec(podman_storage, agent, "caps_hardened", "cat /proc/self/status")
    assert "NoNewPrivs:\t1" in out


def test_run_as_non_root_with_a_root_image_is_refused_with_kubelets_reason(
    agent: Agent, podman_storage: Storage,
) -> None:
    pod = pod_run("nonroot", [_sleeper(podman_storage.image, security={"runAsNonRoot": True})])
    answer = agent("converge", pods=[pod])
    [report] = [p for p in answer["report"]["pods"] if p["name"] == "nonroot"]
    status = report["containers"][0]
    assert (status["state"], status["reason"]) == ("waiting", "CreateContainerConfigError")
    assert status["message"] == ("container has runAsNonRoot and image will run as root (pod: "
                                 "\"nonroot_default(uid-nonroot)\", container: app)")
    assert report["phase"] == "Pending"
    # A numeric non-root user passes the same check.
    allowed = pod_run("nonroot", [_sleeper(podman_storage.image, security={
        "runAsNonRoot": True, "runAsUser": 1000})], hash="h2")
    again = agent("converge", pods=[allowed])
    [report] = [p for p in again["report"]["pods"] if p["name"] == "nonroot"]
    assert report["containers"][0]["state"] == "running"


def test_sysctls_and_dns_settings_reach_the_pod(agent: Agent, podman_storage: Storage) -> None:
    dns = {"policy": "None", "nameservers": ["192.0.2.10"], "searches": ["svc.example"],
           "options": ["ndots:2", "edns0"]}
    agent("converge", pods=[pod_run("tuned", [_sleeper(podman_storage.image)], dns=dns,
                                    sysctls={"net.ipv4.tcp_syncookies": "0"})])
    code, out = _exec(podman_storage, agent, "tuned_app", "cat /etc/resolv.conf")
    assert code == 0
    assert [line for line in out.splitlines() if line.strip()] == [
        "search svc.example", "nameserver 192.0.2.10", "options ndots:2 edns0"]
    assert _exec(podman_storage, agent, "tuned_app",
                 "cat /proc/sys/net/ipv4/tcp_syncookies") == (0, "0")


def test_pre_stop_runs_before_the_container_stops(agent: Agent, podman_storage: Storage) -> None:
    image = podman_storage.image
    volume = {"volume": "shared", "mountPath": "/shared"}

    def version(spec_hash: str) -> dict[str, Any]:
        app = _sleeper(image, mounts=[volume], preStop={
            "handler": "exec", "command": ["sh", "-c", f"echo {spec_hash} >> /shared/stopped"]})
        return pod_run("hooked", [app], hash=spec_hash, terminationGracePeriodSeconds=1,
                       volumes=[{"name": "shared", "kind": "emptyDir"}])

    agent("converge", pods=[version("h1")])
    # A replaced pod is stopped through its preStop hook; the emptyDir (same pod uid) stays.
    agent("converge", pods=[version("h2")])
    assert _exec(podman_storage, agent, "hooked_app", "cat /shared/stopped") == (0, "h1")
    # Removal runs it too (the runtime's removal path; the agent then forgets the files).
    runtime = podman.PodmanRuntime(agent.base["runtime"], agent.state_dir)
    runtime.remove_pod(agent.base["cluster"], "uid-hooked", 1)
    written = agent.state_dir / "pods" / "uid-hooked" / "volumes" / "shared" / "stopped"
    assert written.read_text().split() == ["h1", "h2"]


def test_a_failing_post_start_hook_kills_the_container_and_it_is_restarted(
    agent: Agent, podman_storage: Storage,
) -> None:
    app = _sleeper(podman_storage.image,
                   postStart={"handler": "exec", "command": ["sh", "-c", "exit 3"]})
    answer = agent("converge", pods=[pod_run("poststart", [app])])
    failed = [e for e in answer["report"]["events"] if e["reason"] == "FailedPostStartHook"]
    assert [e["message"] for e in failed] == [
        "Exec lifecycle hook ([sh -c exit 3]) for Container \"app\" in Pod "
        "\"poststart_default(uid-poststart)\" failed - error: exit code 3"]
    until(lambda: agent.pods()["poststart"]["containers"][0].get("restartCount", 0) >= 1,
          "the supervisor restarted the container its postStart hook failed")


def test_a_post_start_hook_runs_in_the_started_container(
    agent: Agent, podman_storage: Storage,
) -> None:
    app = _sleeper(podman_storage.image, postStart={
        "handler": "exec", "command": ["sh", "-c", "echo ready > /tmp/started"]})
    answer = agent("converge", pods=[pod_run("poststart-ok", [app])])
    assert not [e for e in answer["report"]["events"] if "Hook" in e["reason"]]
    assert _exec(podman_storage, agent, "poststart-ok_app", "cat /tmp/started") == (0, "ready")
