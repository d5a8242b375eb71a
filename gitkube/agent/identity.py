"""Who a pod is on the node: its deterministic names, its keys in messages, its labels.

Every runtime names and labels what it creates through these functions, so a repeated or
interrupted converge finds what the last one made (no second copy), two clusters sharing a
node never want the same name, and the agent touches nothing without its cluster's label.
They are the node's one copy of pod identity: the handler, converge, the supervisor and
every runtime read and write it here.

- names: ``gk_<cluster>_<namespace>_<name>`` for the pod (its sandbox),
  ``..._<container>`` for each container, ``gk_<cluster>_<uid>_<volume>`` for a
  runtime-made volume (a Memory emptyDir), ``gitkube-<cluster>`` for the cluster's pod
  network on the node. ``_`` cannot occur in a cluster, namespace or
  pod name (DNS-1123), so the parts never run into each other (``a-b`` + ``c`` vs
  ``a`` + ``b-c``).
- keys: ``namespace/name`` (``key``) in events, and kubelet's ``name_namespace(uid)``
  (``kubelet_name``) in the messages kubelet itself would write.
- labels (``LABEL_*``): on every pod and container, the cluster, uid, name, namespace,
  spec hash, owner, restart policy and grace period; on containers their name, and on init
  containers their index (and sidecar flag); a preStop hook rides along as JSON, since a pod
  being removed is no longer in the desired set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from . import protocol

LABEL_CLUSTER = "io.gitkube.cluster"
LABEL_POD_UID = "io.gitkube.pod-uid"
LABEL_POD_NAME = "io.gitkube.pod-name"
LABEL_NAMESPACE = "io.gitkube.namespace"
LABEL_SPEC_HASH = "io.gitkube.spec-hash"
LABEL_OWNER = "io.gitkube.owner"
LABEL_CONTAINER = "io.gitkube.container"
#: The pod's Kubernetes restartPolicy (a runtime restarts nothing itself: the supervisor does).
LABEL_RESTART_POLICY = "io.gitkube.restart-policy"
#: terminationGracePeriodSeconds, so a pod removed later is stopped with its own grace.
LABEL_GRACE = "io.gitkube.grace-seconds"
#: On init containers only: the container's index in ``PodRun.initContainers``.
LABEL_INIT = "io.gitkube.init"
#: On sidecars (init containers with restartPolicy Always) only: "true".
LABEL_SIDECAR = "io.gitkube.sidecar"
#: On runtime-made volumes (Memory emptyDirs): the pod volume's name.
LABEL_VOLUME = "io.gitkube.volume"
#: On containers with a preStop hook: the ``HookRun`` as JSON.
LABEL_PRE_STOP = "io.gitkube.pre-stop"

#: Kubernetes' default terminationGracePeriodSeconds.
DEFAULT_GRACE = 30

#: A pod as hooks and the supervisor name it: ``name``, ``namespace``, ``uid``.
Identity = dict[str, str]
Labels = dict[str, str]


def pod_name(cluster: str, namespace: str, name: str) -> str:
    """The deterministic name of the pod (its sandbox) on the node."""
    return f"gk_{cluster}_{namespace}_{name}"


def container_name(cluster: str, namespace: str, name: str, container: str) -> str:
    return f"{pod_name(cluster, namespace, name)}_{container}"


def network_name(cluster: str) -> str:
    """The cluster's pod network on every node (its pods join it)."""
    return f"gitkube-{cluster}"


def volume_name(cluster: str, uid: str, volume: str) -> str:
    """A runtime-made volume of a pod (a Memory emptyDir): unique per pod uid, cluster-scoped."""
    return f"gk_{cluster}_{uid}_{volume}"


def key(pod: Mapping[str, object]) -> str:
    """``namespace/name``, how pods are named in events and messages."""
    return f"{pod.get('namespace', 'default')}/{pod.get('name', '?')}"


def kubelet_name(pod: Mapping[str, object]) -> str:
    """How kubelet names a pod in messages: ``name_namespace(uid)``."""
    return f"{pod.get('name', '')}_{pod.get('namespace', 'default')}({pod.get('uid', '')})"


def of(pod: Mapping[str, object]) -> Identity:
    """The pod's name, namespace and uid (a PodRun, a PodReport or a label set's)."""
    return {"name": str(pod.get("name", "")), "namespace": str(pod.get("namespace", "default")),
            "uid": str(pod.get("uid", ""))}


def from_labels(labels: Mapping[str, str]) -> Identity:
    return {"name": labels.get(LABEL_POD_NAME, ""), "uid": labels.get(LABEL_POD_UID, ""),
            "namespace": labels.get(LABEL_NAMESPACE, "default")}


def grace(pod: protocol.PodRun) -> int:
    """terminationGracePeriodSeconds (Kubernetes' default 30)."""
    return int(pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE))


def pod_labels(cluster: str, pod: protocol.PodRun) -> Labels:
    """The labels of the pod's sandbox, and of each of its containers (with more)."""
    return {
        LABEL_CLUSTER: cluster,
        LABEL_POD_UID: pod.get("uid", ""),
        LABEL_POD_NAME: pod.get("name", ""),
        LABEL_NAMESPACE: pod.get("namespace", "default"),
        LABEL_SPEC_HASH: pod.get("hash", ""),
        LABEL_OWNER: pod.get("owner", ""),
        LABEL_RESTART_POLICY: pod.get("restartPolicy", "Always"),
        LABEL_GRACE: str(grace(pod)),
    }


def container_labels(cluster: str, pod: protocol.PodRun,
                     container: protocol.ContainerRun) -> Labels:
    """One container's labels: the pod's, its name, its init index and preStop hook."""
    labels = pod_labels(cluster, pod)
    name = container.get("name", "")
    for index, init in enumerate(pod.get("initContainers", [])):
        if init.get("name") == name:
            labels[LABEL_INIT] = str(index)
            if init.get("restartPolicy") == "Always":
                labels[LABEL_SIDECAR] = "true"
    labels[LABEL_CONTAINER] = name
    if container.get("preStop"):
        labels[LABEL_PRE_STOP] = json.dumps(container["preStop"])
    return labels


def volume_labels(cluster: str, uid: str, volume: str) -> Labels:
    return {LABEL_CLUSTER: cluster, LABEL_POD_UID: uid, LABEL_VOLUME: volume}


def pre_stop_of(labels: Mapping[str, str]) -> protocol.HookRun | None:
    """The preStop hook a container's labels carry, if any (unreadable: none)."""
    text = labels.get(LABEL_PRE_STOP)
    if not text:
        return None
    try:
        hook: protocol.HookRun = json.loads(text)
    except ValueError:
        return None
    return hook if isinstance(hook, dict) else None
