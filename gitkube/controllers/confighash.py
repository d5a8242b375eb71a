"""A Deployment rolls when a ConfigMap or Secret value its containers read from env changes.

Kubernetes resolves env at container start and never restarts a pod because a
referenced value changed; tools built on it (Helm's ``checksum/config``, Reloader)
put a hash of the values in the pod template's annotations so that a change makes
a new template, hence a new ReplicaSet and an ordinary rolling update. The
deployment controller does the same here: ``stamped_template`` is the template the
Deployment rolls out, with ``gitkube.io/config-hash`` holding a hash of every value
its ``env[].valueFrom`` and ``envFrom`` read. Values mounted as files are left out:
the agent updates those in place (``lowering.pod.files_hash``).

A template that reads nothing from ConfigMaps or Secrets is returned unchanged, so
its ReplicaSet name stays what it always was. Pure: snapshot in, template out.
"""

from __future__ import annotations

import base64

from gitkube.api import core, hashing
from gitkube.controllers import lowering
from gitkube.planning.snapshot import Snapshot

ANNOTATION = "gitkube.io/config-hash"
_ABSENT = "<absent>"


def env_config_hash(spec: core.PodSpec, snapshot: Snapshot, namespace: str) -> str | None:
    """A hash of the ConfigMap/Secret values ``spec``'s containers read into env, or None."""
    refs = lowering.Refs(snapshot, namespace)
    read: dict[str, str] = {}
    for container in [*spec.init_containers, *spec.containers]:
        for env_from in container.env_from:
            kind, name = (("ConfigMap", env_from.config_map_ref.name)
                          if env_from.config_map_ref is not None else
                          ("Secret", env_from.secret_ref.name if env_from.secret_ref else ""))
            read[f"{kind}/{name}"] = _digest_all(refs.data(kind, name))
        for var in container.env:
            source = var.value_from or core.EnvVarSource()
            for kind, ref in (("ConfigMap", source.config_map_key_ref),
                              ("Secret", source.secret_key_ref)):
                if ref is not None:
                    found = refs.data(kind, ref.name)
                    value = None if found is None else found.get(ref.key)
                    read[f"{kind}/{ref.name}/{ref.key}"] = _digest(value)
    if not read:
        return None
    return hashing.stable_hash(read, length=16)


def stamped_template(template: core.PodTemplateSpec, snapshot: Snapshot,
                     namespace: str) -> core.PodTemplateSpec:
    """``template`` with the config-hash annotation set (or unchanged when it reads none)."""
    digest = env_config_hash(template.spec, snapshot, namespace)
    if digest is None:
        return template
    stamped = template.model_copy(deep=True)
    stamped.metadata.annotations[ANNOTATION] = digest
    return stamped


def _digest(value: bytes | None) -> str:
    # Hash each value before it meets the others: the annotation is a digest of digests.
    return _ABSENT if value is None else hashing.stable_hash(base64.b64encode(value).decode(), 16)


def _digest_all(found: dict[str, bytes] | None) -> str:
    if found is None:
        return _ABSENT
    return hashing.stable_hash({k: _digest(v) for k, v in sorted(found.items())}, length=16)
