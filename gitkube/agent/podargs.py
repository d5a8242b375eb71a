"""``podman`` command lines for gitkube pods: labels, published ports, resource limits.

Pure helpers of ``podman.py`` (standard library only, like the whole agent), kept apart
so the runtime module reads as what it does with podman rather than how flags are spelt.
"""

from __future__ import annotations

from . import protocol

DEFAULT_GRACE = 30


def grace(pod: protocol.PodRun) -> int:
    """terminationGracePeriodSeconds (Kubernetes' default 30)."""
    return int(pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE))


def pod_labels(cluster: str, pod: protocol.PodRun) -> dict[str, str]:
    return {
        protocol.LABEL_CLUSTER: cluster,
        protocol.LABEL_POD_UID: pod.get("uid", ""),
        protocol.LABEL_POD_NAME: pod.get("name", ""),
        protocol.LABEL_NAMESPACE: pod.get("namespace", "default"),
        protocol.LABEL_SPEC_HASH: pod.get("hash", ""),
        protocol.LABEL_OWNER: pod.get("owner", ""),
        protocol.LABEL_RESTART_POLICY: pod.get("restartPolicy", "Always"),
        protocol.LABEL_GRACE: str(grace(pod)),
    }


def label_args(labels: dict[str, str]) -> list[str]:
    argv: list[str] = []
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    return argv


def publish(port: protocol.PortRun) -> str:
    host_ip = port.get("hostIP", "")
    spec = f"{host_ip}:" if host_ip else ""
    spec += f"{port['hostPort']}:{port.get('containerPort', port['hostPort'])}"
    return spec + "/" + port.get("protocol", "TCP").lower()


def resource_args(container: protocol.ContainerRun) -> list[str]:
    argv: list[str] = []
    if container.get("cpuLimitMillis"):
        argv += ["--cpus", f"{container['cpuLimitMillis'] / 1000:g}"]
    if container.get("memoryLimitBytes"):
        argv += ["--memory", str(container["memoryLimitBytes"])]
    if container.get("cpuRequestMillis"):
        # Kubernetes' shares: 1024 per CPU, at least 2.
        argv += ["--cpu-shares", str(max(2, container["cpuRequestMillis"] * 1024 // 1000))]
    if container.get("memoryRequestBytes"):
        argv += ["--memory-reservation", str(container["memoryRequestBytes"])]
    return argv
