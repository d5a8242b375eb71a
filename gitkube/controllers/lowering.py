"""Lowering: a Pod (plus the ConfigMaps and Secrets it names) → the agent's ``PodRun``.

The agent knows nothing of Kubernetes objects; it runs ``PodRun`` dicts
(``gitkube.agent.protocol``). Everything that needs the store is resolved here:
environment variables in Kubernetes' order (envFrom first, then env, each env
value expanded with what came before it; command and args expanded with the
final environment), and ConfigMap/Secret/downwardAPI volumes turned into files for
each mount (a downwardAPI file changes with the pod's labels and annotations, and is
rewritten in place like a ConfigMap's). Security contexts, lifecycle hooks and DNS
settings are lowered by ``containeropts``.

Two hashes tell the agent what changed. ``hash`` (``spec_hash``) covers the pod
as declared plus where volumes are mounted: when it changes the pod is replaced.
It leaves out the values resolved from ConfigMaps and Secrets, because Kubernetes
resolves env at container start and never restarts a pod for a changed value (a
Deployment rolls instead: ``confighash``). ``filesHash`` covers the volume files'
paths, modes and contents: when only it changes, the agent rewrites the volume in
place with the atomic ``..data`` swap and the containers keep running.

emptyDir volumes become ``PodRun.volumes`` (the agent makes a per-pod directory, or a
tmpfs for ``medium: Memory``) and each container's ``mounts``. Init containers are
lowered like app containers into ``PodRun.initContainers``; ``restartPolicy: Always``
marks a sidecar.

A missing ConfigMap/Secret (or key) that is not ``optional`` raises
``LoweringError`` with the reason kubelet would show (CreateContainerConfigError);
``nodesync`` records it in the pod's status instead of starting the pod. Other
volume types (hostPath, persistentVolumeClaim...) are rejected the same way.
"""

from __future__ import annotations

import base64
import json
import math
import posixpath
from collections.abc import Mapping
from typing import Any, Literal

from gitkube import errors
from gitkube.agent import protocol
from gitkube.api import hashing, keys, names, quantities
from gitkube.api.meta import KubeObject
from gitkube.controllers import containeropts, expansion
from gitkube.planning.snapshot import Snapshot

CONFIG_ERROR = "CreateContainerConfigError"
DEFAULT_FILE_MODE = 0o644


class LoweringError(errors.PermanentError):
    """The pod cannot be started as written; ``reason`` is what its container status shows."""

    def __init__(self, *, reason: str = CONFIG_ERROR, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def lower_pod(pod: KubeObject, snapshot: Snapshot) -> protocol.PodRun:
    data = pod.to_dict()
    spec: dict[str, Any] = data.get("spec") or {}
    refs = Refs(snapshot, pod.namespace)
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    run: protocol.PodRun = {
        "uid": pod.metadata.uid or "",
        "name": pod.name,
        "namespace": pod.namespace,
        "restartPolicy": spec.get("restartPolicy") or "Always",
        "hostname": spec.get("hostname") or names.pod_hostname(pod.name),
        "terminationGracePeriodSeconds": int(spec.get("terminationGracePeriodSeconds", 30)),
        "containers": [
            _lower_container(c, data, refs, volumes) for c in spec.get("containers") or []
        ],
    }
    inits = [_lower_container(c, data, refs, volumes) for c in spec.get("initContainers") or []]
    if inits:
        run["initContainers"] = inits
    scratch = [_lower_empty_dir(v) for v in volumes.values() if "emptyDir" in v]
    if scratch:
        run["volumes"] = scratch
    containeropts.lower_pod_security(spec, run)
    dns = containeropts.lower_dns(spec)
    if dns is not None:
        run["dns"] = dns
    owner = pod.controller_ref()
    if owner is not None:
        run["owner"] = f"{owner.kind}/{owner.name}"
    run["hash"] = spec_hash(data, run)
    run["filesHash"] = files_hash(run)
    return run


def spec_hash(pod: Mapping[str, Any], run: protocol.PodRun) -> str:
    """What forces a replace: the declared spec, the owner and the volume mounts' layout."""
    spec = {k: v for k, v in (pod.get("spec") or {}).items() if k != "nodeName"}
    everyone = [*run.get("initContainers", []), *run.get("containers", [])]
    mounts = sorted({
        (c.get("name", ""), f.get("volume", ""), f.get("mountPath", ""))
        for c in everyone for f in c.get("files", [])
    })
    content: dict[str, Any] = {"spec": spec, "owner": run.get("owner", ""), "mounts": mounts}
    # Only when present, so the hash of a pod without them (and its running copy) stays put.
    scratch = sorted(
        (c.get("name", ""), m.get("volume", ""), m.get("mountPath", ""),
         bool(m.get("readOnly")), m.get("subPath", ""))
        for c in everyone for m in c.get("mounts", [])
    )
    if scratch or run.get("volumes"):
        content["scratch"] = {"mounts": scratch, "volumes": run.get("volumes", [])}
    return hashing.stable_hash(content, length=12)


def files_hash(run: protocol.PodRun) -> str:
    """What the agent may update in place: every volume file's path, mode and content."""
    files = {c.get("name", ""): c.get("files", []) for c in run.get("containers", [])}
    for c in run.get("initContainers", []):
        files[f"init:{c.get('name', '')}"] = c.get("files", [])
    return hashing.stable_hash(files, length=12)


class Refs:
    """ConfigMap and Secret data of one namespace, decoded."""

    def __init__(self, snapshot: Snapshot, namespace: str) -> None:
        self._snapshot = snapshot
        self._namespace = namespace

    def data(self, kind: str, name: str) -> dict[str, bytes] | None:
        plural = "configmaps" if kind == "ConfigMap" else "secrets"
        stored = self._snapshot.get(keys.object_key(plural, self._namespace, name))
        if stored is None:
            return None
        obj = stored.obj.to_dict()
        out: dict[str, bytes] = {}
        if kind == "ConfigMap":
            out.update({k: v.encode() for k, v in (obj.get("data") or {}).items()})
            out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        else:
            out.update({k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()})
            out.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
        return out

    def allocatable(self, node: str) -> dict[str, str]:
        """The node's allocatable resources (what an unset limit means to the downward API)."""
        stored = self._snapshot.get(keys.object_key("nodes", "", node)) if node else None
        if stored is None:
            return {}
        status = stored.obj.to_dict().get("status") or {}
        return {k: str(v) for k, v in (status.get("allocatable") or status.get("capacity")
                                       or {}).items()}

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


def _lower_container(
    container: dict[str, Any], pod: dict[str, Any], refs: Refs,
    volumes: Mapping[str, dict[str, Any]],
) -> protocol.ContainerRun:
    env = _environment(container, pod, refs)
    run: protocol.ContainerRun = {
        "name": container["name"],
        "image": container["image"],
        "imagePullPolicy": container.get("imagePullPolicy") or _default_pull_policy(
            container["image"]
        ),
        "env": env,
    }
    if container.get("command"):
        run["command"] = [expansion.expand(part, env) for part in container["command"]]
    if container.get("args"):
        run["args"] = [expansion.expand(part, env) for part in container["args"]]
    if container.get("workingDir"):
        run["workingDir"] = container["workingDir"]
    ports = [_lower_port(p) for p in container.get("ports") or []]
    if ports:
        run["ports"] = ports
    _lower_resources(container.get("resources") or {}, run)
    files = _files(container, refs, volumes, pod)
    if files:
        run["files"] = files
    mounts = _mounts(container, volumes)
    if mounts:
        run["mounts"] = mounts
    if container.get("restartPolicy") == "Always":
        run["restartPolicy"] = "Always"
    if container.get("livenessProbe"):
        run["livenessProbe"] = _lower_probe(container["livenessProbe"], container)
    if container.get("readinessProbe"):
        run["readinessProbe"] = _lower_probe(container["readinessProbe"], container)
    if container.get("startupProbe"):
        run["startupProbe"] = _lower_probe(container["startupProbe"], container)
    security = containeropts.lower_security(pod.get("spec") or {}, container)
    if security:
        run["security"] = security
    containeropts.lower_hooks(container, run, _probe_port)
    return run


def _lower_probe(probe: dict[str, Any], container: dict[str, Any]) -> protocol.ProbeRun:
    """A probe with its handler named and a named port resolved to the container's number."""
    out = protocol.ProbeRun(
        initialDelaySeconds=int(probe.get("initialDelaySeconds", 0)),
        timeoutSeconds=int(probe.get("timeoutSeconds", 1)),
        periodSeconds=int(probe.get("periodSeconds", 10)),
        successThreshold=int(probe.get("successThreshold", 1)),
        failureThreshold=int(probe.get("failureThreshold", 3)),
    )
    if "exec" in probe:
        out["handler"] = "exec"
        out["command"] = list(probe["exec"]["command"])
        return out
    if "grpc" in probe:
        # Kubernetes allows only a number here, so there is no name to resolve.
        out["handler"] = "grpc"
        out["port"] = int(probe["grpc"]["port"])
        out["service"] = probe["grpc"].get("service") or ""
        return out
    action = probe.get("httpGet") or probe.get("tcpSocket") or {}
    out["handler"] = "httpGet" if "httpGet" in probe else "tcpSocket"
    out["port"] = _probe_port(action.get("port"), container)
    if action.get("host"):
        out["host"] = action["host"]
    if "httpGet" in probe:
        out["path"] = action.get("path") or "/"
        out["scheme"] = action.get("scheme") or "HTTP"
        if action.get("httpHeaders"):
            out["httpHeaders"] = [dict(h) for h in action["httpHeaders"]]
    return out


def _probe_port(port: object, container: dict[str, Any]) -> int:
    if isinstance(port, int):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for declared in container.get("ports") or []:
        if declared.get("name") == text:
            return int(declared["containerPort"])
    raise LoweringError(message=f"probe port {text!r} names no port of container "
                                f"{container.get('name')}")


def _default_pull_policy(image: str) -> Literal["Always", "IfNotPresent"]:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _lower_port(port: dict[str, Any]) -> protocol.PortRun:
    out: protocol.PortRun = {
        "containerPort": int(port["containerPort"]),
        "protocol": port.get("protocol") or "TCP",
    }
    if port.get("hostPort"):
        out["hostPort"] = int(port["hostPort"])
    if port.get("hostIP"):
        out["hostIP"] = port["hostIP"]
    return out


def _lower_resources(resources: dict[str, Any], run: protocol.ContainerRun) -> None:
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    if "cpu" in limits:
        run["cpuLimitMillis"] = quantities.cpu_millis(limits["cpu"])
    if "memory" in limits:
        run["memoryLimitBytes"] = quantities.memory_bytes(limits["memory"])
    # Kubernetes defaults a request to the limit when only the limit is given.
    cpu_request = requests.get("cpu", limits.get("cpu"))
    memory_request = requests.get("memory", limits.get("memory"))
    if cpu_request is not None:
        run["cpuRequestMillis"] = quantities.cpu_millis(cpu_request)
    if memory_request is not None:
        run["memoryRequestBytes"] = quantities.memory_bytes(memory_request)


# -- environment ---------------------------------------------------------------------------


def _environment(container: dict[str, Any], pod: dict[str, Any], refs: Refs) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        if "configMapRef" in source:
            kind, ref = "ConfigMap", source["configMapRef"]
        else:
            kind, ref = "Secret", source["secretRef"]
        found = refs.require(kind, ref["name"], bool(ref.get("optional")))
        for key, raw in sorted((found or {}).items()):
            name = prefix + key
            # Kubernetes skips keys that are not valid variable names (and records an event).
            if not names.env_var_name_errors(name):
                env[name] = raw.decode(errors="replace")
    for var in container.get("env") or []:
        value = _env_value(var, env, pod, refs, container)
        if value is not None:
            env[var["name"]] = value
    return env


def _env_value(
    var: dict[str, Any], env: Mapping[str, str], pod: dict[str, Any], refs: Refs,
    container: dict[str, Any],
) -> str | None:
    source = var.get("valueFrom")
    if not source:
        return expansion.expand(str(var.get("value") or ""), env)
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return refs.value("ConfigMap", ref["name"], ref["key"], bool(ref.get("optional")))
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return refs.value("Secret", ref["name"], ref["key"], bool(ref.get("optional")))
    if "fieldRef" in source:
        return _field_value(source["fieldRef"]["fieldPath"], pod)
    if "resourceFieldRef" in source:
        return resource_value(source["resourceFieldRef"], pod, container["name"], refs)
    raise LoweringError(
        message=f"env {var['name']}: only value, configMapKeyRef, secretKeyRef, fieldRef and "
        "resourceFieldRef are supported; change the manifest to use one of them"
    )


def resource_value(ref: dict[str, Any], pod: dict[str, Any], default_container: str,
                   refs: Refs) -> str:
    """A container's request or limit in units of ``divisor``, rounded up (kubelet's
    ExtractContainerResourceValue); an unset limit is the node's allocatable amount."""
    spec = pod.get("spec") or {}
    name = ref.get("containerName") or default_container
    everyone = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    container = next((c for c in everyone if c.get("name") == name), None)
    if container is None:
        raise LoweringError(message=f"resourceFieldRef names no container {name!r} of the pod")
    group, _, resource = str(ref["resource"]).partition(".")
    amounts = dict((container.get("resources") or {}).get(group) or {})
    if group == "limits":
        allocatable = refs.allocatable(str(spec.get("nodeName") or ""))
        for key in ("cpu", "memory", "ephemeral-storage"):
            if quantities.parse_quantity(amounts.get(key, 0)) == 0 and key in allocatable:
                amounts[key] = allocatable[key]
    amount = amounts.get(resource, 0)
    divisor = ref.get("divisor") or "1"
    if resource == "cpu":
        # MilliValue of both, as kubelet divides them.
        return str(math.ceil(quantities.cpu_millis(amount) / quantities.cpu_millis(divisor)))
    return str(math.ceil(quantities.memory_bytes(amount) / quantities.memory_bytes(divisor)))


def _field_value(path: str, pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace") or "default",
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName"),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName"),
        "status.hostIP": (pod.get("status") or {}).get("hostIP"),
        "status.podIP": (pod.get("status") or {}).get("podIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    for field in ("labels", "annotations"):
        head = f"metadata.{field}['"
        if path.startswith(head) and path.endswith("']"):
            return str((meta.get(field) or {}).get(path[len(head):-2], ""))
    raise LoweringError(message=f"fieldRef {path!r} is not supported")


# -- volumes -------------------------------------------------------------------------------


def _files(
    container: dict[str, Any], refs: Refs, volumes: Mapping[str, dict[str, Any]],
    pod: dict[str, Any],
) -> list[protocol.FileRun]:
    files: list[protocol.FileRun] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise LoweringError(message=f'volume mount "{mount["name"]}" names no volume')
        if "emptyDir" in volume:
            continue
        entries = (_downward_files(volume, pod, refs) if "downwardAPI" in volume
                   else _volume_files(volume, refs))
        sub_path = mount.get("subPath") or ""
        for rel, content, mode in entries:
            if sub_path and rel != sub_path:
                continue
            path = mount["mountPath"] if sub_path else posixpath.join(mount["mountPath"], rel)
            files.append({
                "path": path,
                "content": base64.b64encode(content).decode(),
                "mode": mode,
                "volume": mount["name"],
                # A subPath mount is one file bind-mounted on its own, not the whole volume.
                "mountPath": path if sub_path else mount["mountPath"],
            })
    return files


def _downward_files(volume: dict[str, Any], pod: dict[str, Any], refs: Refs
                    ) -> list[tuple[str, bytes, int]]:
    """A downwardAPI volume's files: pod fields (labels and annotations as kubelet's
    ``key="value"`` lines) or containers' requests and limits."""
    source = volume["downwardAPI"] or {}
    mode = int(source.get("defaultMode", DEFAULT_FILE_MODE))
    meta = pod.get("metadata") or {}
    out: list[tuple[str, bytes, int]] = []
    for item in source.get("items") or []:
        if item.get("fieldRef"):
            field_path = item["fieldRef"]["fieldPath"]
            if field_path in ("metadata.labels", "metadata.annotations"):
                values = meta.get(field_path.split(".", 1)[1]) or {}
                text = "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}"
                                 for k, v in sorted(values.items()))
            else:
                text = _field_value(field_path, pod)
        else:
            ref = item["resourceFieldRef"]
            text = resource_value(ref, pod, str(ref.get("containerName") or ""), refs)
        out.append((item["path"], text.encode(), int(item.get("mode", mode))))
    return out


def _volume_files(volume: dict[str, Any], refs: Refs) -> list[tuple[str, bytes, int]]:
    if "configMap" in volume:
        kind, source = "ConfigMap", volume["configMap"]
        name = source["name"]
    elif "secret" in volume:
        kind, source = "Secret", volume["secret"]
        name = source["secretName"]
    else:
        other = next((k for k in volume if k != "name"), "unknown")
        raise LoweringError(
            message=f'volume "{volume["name"]}": {other} volumes are not supported yet; '
            "use configMap, secret, emptyDir or downwardAPI volumes"
        )
    optional = bool(source.get("optional"))
    found = refs.require(kind, name, optional)
    if found is None:
        return []
    mode = int(source.get("defaultMode", DEFAULT_FILE_MODE))
    items = source.get("items")
    if not items:
        return [(key, value, mode) for key, value in sorted(found.items())]
    out: list[tuple[str, bytes, int]] = []
    for item in items:
        if item["key"] not in found:
            if optional:
                continue
            raise LoweringError(
                message=f"{kind.lower()} references non-existent config key: {item['key']}"
            )
        out.append((item["path"], found[item["key"]], int(item.get("mode", mode))))
    return out



def _mounts(
    container: dict[str, Any], volumes: Mapping[str, dict[str, Any]]
) -> list[protocol.MountRun]:
    mounts: list[protocol.MountRun] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None or "emptyDir" not in volume:
            continue
        if mount.get("subPath") and (volume["emptyDir"] or {}).get("medium") == "Memory":
            raise LoweringError(message=f'volume mount "{mount["name"]}": subPath on a Memory '
                                "emptyDir is not supported yet; mount the whole volume")
        out: protocol.MountRun = {"volume": mount["name"], "mountPath": mount["mountPath"]}
        if mount.get("readOnly"):
            out["readOnly"] = True
        if mount.get("subPath"):
            out["subPath"] = mount["subPath"]
        mounts.append(out)
    return mounts


def _lower_empty_dir(volume: dict[str, Any]) -> protocol.VolumeRun:
    source = volume.get("emptyDir") or {}
    out: protocol.VolumeRun = {
        "name": volume["name"], "kind": "emptyDir",
        "medium": "Memory" if source.get("medium") == "Memory" else "",
    }
    if source.get("sizeLimit") is not None:
        out["sizeBytes"] = quantities.memory_bytes(source["sizeLimit"])
    return out
