"""What lowering reads besides the pod: ConfigMap and Secret data, a node's allocatable.

Part of lowering (``pod.py`` builds one ``Refs`` per pod). Values come out decoded to
bytes, whichever field held them (a ConfigMap's ``data``/``binaryData``, a Secret's
``data``/``stringData``). A reference that is missing and not ``optional`` raises
``LoweringError`` with kubelet's message, which ``nodesync`` writes into the pod's
status (CreateContainerConfigError) instead of starting the pod.
"""

from __future__ import annotations

import base64

from gitkube import errors
from gitkube.api import core, keys, storage
from gitkube.api import node as nodes
from gitkube.planning import claims
from gitkube.planning.snapshot import Snapshot

CONFIG_ERROR = "CreateContainerConfigError"
#: kubelet's reason while a pod's volumes cannot be mounted yet.
CONTAINER_CREATING = "ContainerCreating"


class LoweringError(errors.PermanentError):
    """The pod cannot be started as written; ``reason`` is what its container status shows."""

    def __init__(self, *, reason: str = CONFIG_ERROR, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Refs:
    """ConfigMap and Secret data of one namespace, decoded, and the nodes' allocatable."""

    def __init__(self, snapshot: Snapshot, namespace: str) -> None:
        self._snapshot = snapshot
        self._namespace = namespace

    def data(self, kind: str, name: str) -> dict[str, bytes] | None:
        plural = "configmaps" if kind == "ConfigMap" else "secrets"
        stored = self._snapshot.get(keys.object_key(plural, self._namespace, name))
        obj = stored.obj if stored is not None else None
        if isinstance(obj, core.ConfigMap):
            out = {k: v.encode() for k, v in obj.data.items()}
            out.update({k: base64.b64decode(v) for k, v in obj.binary_data.items()})
            return out
        if isinstance(obj, core.Secret):
            return obj.decoded()
        return None

    def allocatable(self, node: str) -> dict[str, str]:
        """The node's allocatable resources (what an unset limit means to the downward API)."""
        stored = self._snapshot.get(keys.object_key("nodes", "", node)) if node else None
        if stored is None or not isinstance(stored.obj, nodes.Node):
            return {}
        status = stored.obj.status
        return dict(status.allocatable or status.capacity)

    def claim_volume(self, name: str) -> storage.PersistentVolume:
        """The volume a claim of the pod's namespace is bound to; kubelet's words while
        there is none (the pod waits in ContainerCreating)."""
        pvc = claims.claim(self._snapshot, self._namespace, name)
        if pvc is None:
            raise LoweringError(reason=CONTAINER_CREATING,
                                message=f'persistentvolumeclaim "{name}" not found')
        volume = claims.bound_volume(self._snapshot, pvc)
        if volume is None or not volume.path:
            raise LoweringError(reason=CONTAINER_CREATING, message=(
                f'persistentvolumeclaim "{name}" is not bound to a volume yet'))
        return volume

    def require(self, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
        found = self.data(kind, name)
        if found is None and not optional:
            raise LoweringError(message=f'{kind.lower()} "{name}" not found')
        return found

    def value(self, kind: str, name: str, key: str, optional: bool) -> str | None:
        found = self.require(kind, name, optional)
        if found is None:
            return None
        if key not in found:
            if optional:
                return None
            raise LoweringError(
                message=f"couldn't find key {key} in {kind} {self._namespace}/{name}"
            )
        return found[key].decode(errors="replace")
