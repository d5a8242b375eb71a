"""Volumes: ConfigMap, Secret and downwardAPI volumes as files; emptyDir, hostPath and
persistentVolumeClaim volumes as node directories the containers mount.

Part of lowering. A ConfigMap/Secret/downwardAPI volume becomes the files of each
mount (``FileRun``: path, mode, content; a subPath mount is one file bind-mounted on
its own); the agent writes them with the atomic ``..data`` swap and rewrites them in
place when only their content changes (``filesHash``). A downwardAPI file holds a pod
field (labels and annotations as kubelet's ``key="value"`` lines) or a container's
request or limit. An emptyDir becomes a ``VolumeRun`` (a per-pod directory, or a tmpfs
for ``medium: Memory``) and each container's ``MountRun``; so does a hostPath (the node's
path, checked by the agent as kubelet checks its ``type``) and a persistentVolumeClaim (the
directory of the local-path volume the claim is bound to, made by the agent on first use).
"""

from __future__ import annotations

import base64
import json
import posixpath
from collections.abc import Mapping

from gitkube.agent import protocol
from gitkube.api import core, pods, quantities
from gitkube.controllers.lowering import environment, refs

DEFAULT_FILE_MODE = 0o644

#: A volume's files: (path relative to the mount, content, mode).
Entries = list[tuple[str, bytes, int]]


def files(container: core.Container, pod: core.Pod, found: refs.Refs,
          volumes: Mapping[str, core.Volume]) -> list[protocol.FileRun]:
    out: list[protocol.FileRun] = []
    for mount in container.volume_mounts:
        volume = volumes.get(mount.name)
        if volume is None:
            raise refs.LoweringError(message=f'volume mount "{mount.name}" names no volume')
        if _mounted(volume):
            continue
        entries = (_downward_files(volume.downward_api, pod, found)
                   if volume.downward_api is not None else _volume_files(volume, found))
        sub_path = mount.sub_path or ""
        for rel, content, mode in entries:
            if sub_path and rel != sub_path:
                continue
            path = mount.mount_path if sub_path else posixpath.join(mount.mount_path, rel)
            out.append({
                "path": path,
                "content": base64.b64encode(content).decode(),
                "mode": mode,
                "volume": mount.name,
                # A subPath mount is one file bind-mounted on its own, not the whole volume.
                "mountPath": path if sub_path else mount.mount_path,
            })
    return out


def _labels_text(values: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(values.items()))


def _downward_files(source: pods.DownwardAPIVolumeSource, pod: core.Pod,
                    found: refs.Refs) -> Entries:
    """A downwardAPI volume's files: pod fields or containers' requests and limits."""
    mode = source.default_mode if source.default_mode is not None else DEFAULT_FILE_MODE
    out: Entries = []
    for item in source.items:
        if item.field_ref is not None:
            field_path = item.field_ref.field_path
            if field_path == "metadata.labels":
                text = _labels_text(pod.metadata.labels)
            elif field_path == "metadata.annotations":
                text = _labels_text(pod.metadata.annotations)
            else:
                text = environment.field_value(field_path, pod)
        elif item.resource_field_ref is not None:
            ref = item.resource_field_ref
            text = environment.resource_value(ref, pod, ref.container_name or "", found)
        else:
            raise refs.LoweringError(message=f"downwardAPI item {item.path!r} needs a fieldRef "
                                             "or a resourceFieldRef")
        out.append((item.path, text.encode(), item.mode if item.mode is not None else mode))
    return out


def _source(volume: core.Volume) -> tuple[str, str, core.ConfigMapVolumeSource
                                          | core.SecretVolumeSource]:
    """(kind, name, source) of a ConfigMap or Secret volume; other kinds are refused."""
    if volume.config_map is not None:
        return "ConfigMap", volume.config_map.name, volume.config_map
    if volume.secret is not None:
        return "Secret", volume.secret.secret_name, volume.secret
    other = next((k for k in volume.to_dict() if k != "name"), "unknown")
    raise refs.LoweringError(
        message=f'volume "{volume.name}": {other} volumes are not supported yet; '
        "use configMap, secret, emptyDir or downwardAPI volumes"
    )


def _volume_files(volume: core.Volume, found: refs.Refs) -> Entries:
    kind, name, source = _source(volume)
    optional = bool(source.optional)
    data = found.require(kind, name, optional)
    if data is None:
        return []
    mode = source.default_mode if source.default_mode is not None else DEFAULT_FILE_MODE
    if not source.items:
        return [(key, value, mode) for key, value in sorted(data.items())]
    out: Entries = []
    for item in source.items:
        if item.key not in data:
            if optional:
                continue
            raise refs.LoweringError(
                message=f"{kind.lower()} references non-existent config key: {item.key}"
            )
        out.append((item.path, data[item.key], item.mode if item.mode is not None else mode))
    return out


def mounts(container: core.Container,
           volumes: Mapping[str, core.Volume]) -> list[protocol.MountRun]:
    out: list[protocol.MountRun] = []
    for mount in container.volume_mounts:
        volume = volumes.get(mount.name)
        if volume is None or not _mounted(volume):
            continue
        if mount.sub_path and volume.empty_dir is not None and volume.empty_dir.medium == "Memory":
            raise refs.LoweringError(message=(
                f'volume mount "{mount.name}": subPath on a Memory emptyDir is not supported '
                "yet; mount the whole volume"))
        run: protocol.MountRun = {"volume": mount.name, "mountPath": mount.mount_path}
        claim = volume.persistent_volume_claim
        if mount.read_only or (claim is not None and claim.read_only):
            run["readOnly"] = True
        if mount.sub_path:
            run["subPath"] = mount.sub_path
        out.append(run)
    return out


def _mounted(volume: core.Volume) -> bool:
    """Volumes the containers mount as directories of the node (not files lowering writes)."""
    return (volume.empty_dir is not None or volume.host_path is not None
            or volume.persistent_volume_claim is not None)


def node_volume(volume: core.Volume, found: refs.Refs) -> protocol.VolumeRun | None:
    """The ``VolumeRun`` of an emptyDir, hostPath or claim volume (None for file volumes)."""
    if volume.empty_dir is not None:
        return scratch_volume(volume, volume.empty_dir)
    if volume.host_path is not None:
        return {"name": volume.name, "kind": "hostPath", "path": volume.host_path.path,
                "type": volume.host_path.type or ""}
    if volume.persistent_volume_claim is not None:
        bound = found.claim_volume(volume.persistent_volume_claim.claim_name)
        return {"name": volume.name, "kind": "hostPath", "path": bound.path,
                "type": "DirectoryOrCreate", "claim": True}
    return None


def scratch_volume(volume: core.Volume, source: core.EmptyDirVolumeSource) -> protocol.VolumeRun:
    out: protocol.VolumeRun = {
        "name": volume.name, "kind": "emptyDir",
        "medium": "Memory" if source.medium == "Memory" else "",
    }
    if source.size_limit is not None:
        out["sizeBytes"] = quantities.memory_bytes(source.size_limit)
    return out
