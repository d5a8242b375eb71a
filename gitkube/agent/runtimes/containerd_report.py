"""Pure reads of containerd's records for the containerd runtime: ids and ``reports.Seen``.

A container's id in containerd is its deterministic name (``identity.container_name``,
a pod's sandbox ``identity.pod_name``) and a digest of the pod's uid and hash: a repeated
create of the same pod finds its own containers (containerd refuses a second of an id),
and a replaced pod's containers are new ones, with new ids, as Kubernetes reports them.
``seen`` turns a container and its task into the runtime-neutral record that
``reports.pods_from`` groups into PodReports, from the labels the runtime keeps on it.
"""

from __future__ import annotations

import hashlib

from .. import identity, protocol, reports
from . import containerd_api

SCHEME = "containerd://"
SANDBOX_LABEL = "gitkube.containerd/sandbox"
IP_LABEL = "gitkube.containerd/ip"
STARTED_LABEL = "gitkube.containerd/started"
RESTARTS_LABEL = "gitkube.containerd/restarts"
IMAGE_ID_LABEL = "gitkube.containerd/image-id"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


def sandbox_id(cluster: str, pod: protocol.PodRun) -> str:
    name = identity.pod_name(cluster, pod.get("namespace", "default"), pod.get("name", ""))
    return f"{name}-{_digest(pod.get('uid', ''), pod.get('hash', ''))}"


def container_id(cluster: str, pod: protocol.PodRun, container: str) -> str:
    name = identity.container_name(cluster, pod.get("namespace", "default"),
                                   pod.get("name", ""), container)
    return f"{name}-{_digest(pod.get('uid', ''), pod.get('hash', ''))}"


def seen(container: containerd_api.Container, task: containerd_api.Task | None
          ) -> reports.Seen:
    """One containerd container (and its task) as a runtime-neutral record."""
    labels = container.labels
    if labels.get(SANDBOX_LABEL):
        return reports.Seen(id=container.id, labels=labels, state="running", sandbox=True,
                            name=container.id)
    started = int(float(labels.get(STARTED_LABEL, "0") or 0))
    if task is None:
        # Never started, or its task is gone with containerd's state (a reboot).
        state, code, finished = ("exited", 255, started) if started else ("created", 0, 0)
    else:
        state, code, finished = task.state, task.exit_status, int(task.exited)
        if state == "stopped":
            state = "exited"
    return reports.Seen(id=SCHEME + container.id, labels=labels, state=state,
                        image=container.image, image_id=labels.get(IMAGE_ID_LABEL, ""),
                        exit_code=code, started=started, finished=finished,
                        name=container.id)
