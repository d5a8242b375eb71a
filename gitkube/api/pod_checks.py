"""Rules of a pod spec that field types cannot say: names, references, ranges, resources.

Run for Pods and for the templates of Deployments and ReplicaSets when they are read
from Git. Every rule returns ``FieldIssue``s under the path it was given
(``spec`` or ``spec.template.spec``), and all issues of a spec are reported together.
"""

from __future__ import annotations

import ipaddress
import re

from gitkube.api import (
    affinity,
    errors,
    images,
    lifecycle,
    names,
    pods,
    probes,
    quantities,
    security,
    validation,
)

#: Resources gitkube schedules by. Extended resources (``example.com/dongle``) are counted
#: against what the inventory declares for a node.
SUPPORTED_RESOURCES = ("cpu", "memory")

_FIELD_PATHS = frozenset({
    "metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels",
    "metadata.annotations", "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
    "status.podIP", "status.podIPs",
})
_FIELD_PATH_SUBSCRIPT = re.compile(r"metadata\.(labels|annotations)\['[^']+'\]")

Issues = list[errors.FieldIssue]


def _issue(path: str, message: str) -> errors.FieldIssue:
    return errors.FieldIssue(path, message)


def check_pod_spec(spec: pods.PodSpec, path: str) -> Issues:
    issues: Issues = []
    volume_names = set()
    for i, volume in enumerate(spec.volumes):
        where = f"{path}.volumes[{i}]"
        issues += _check_volume(volume, where)
        if volume.name in volume_names:
            issues.append(_issue(f"{where}.name", f"Duplicate value: {volume.name!r}"))
        volume_names.add(volume.name)
    container_names: set[str] = set()
    port_names: set[str] = set()
    for field, containers in (("initContainers", spec.init_containers),
                              ("containers", spec.containers)):
        for i, container in enumerate(containers):
            where = f"{path}.{field}[{i}]"
            # Names are unique across init and app containers: they share the pod's status.
            if container.name in container_names:
                issues.append(_issue(f"{where}.name", f"Duplicate value: {container.name!r}"))
            container_names.add(container.name)
            issues += _check_container(container, where, volume_names, port_names)
            issues += _check_restart_policy(container, where, init=field == "initContainers")
            issues += security.check_container_context(container.security_context,
                                                       f"{where}.securityContext")
            issues += lifecycle.check_lifecycle(
                container.lifecycle, spec.termination_grace_period_seconds,
                {p.name for p in container.ports if p.name}, f"{where}.lifecycle")
    issues += _check_resource_refs(spec, path)
    issues += security.check_pod_context(spec.security_context, f"{path}.securityContext")
    issues += _check_dns(spec, path)
    for i, toleration in enumerate(spec.tolerations):
        issues += _check_toleration(toleration, f"{path}.tolerations[{i}]")
    issues += validation.check_labels(f"{path}.nodeSelector", spec.node_selector)
    if spec.hostname is not None:
        issues += [_issue(f"{path}.hostname", p) for p in names.dns1123_label_errors(spec.hostname)]
    if spec.subdomain is not None:
        issues += [_issue(f"{path}.subdomain", p)
                   for p in names.dns1123_label_errors(spec.subdomain)]
    for field, name in (("nodeName", spec.node_name),
                        ("serviceAccountName", spec.service_account_name or None),
                        ("serviceAccount", spec.service_account or None)):
        if name is not None:
            issues += [_issue(f"{path}.{field}", p) for p in names.dns1123_subdomain_errors(name)]
    issues += affinity.check_affinity(spec.affinity, f"{path}.affinity")
    issues += affinity.check_spread(spec.topology_spread_constraints,
                                    f"{path}.topologySpreadConstraints")
    issues += affinity.check_priority_class_name(spec.priority_class_name,
                                                 f"{path}.priorityClassName")
    return issues


def _check_container(
    container: pods.Container, path: str, volume_names: set[str], port_names: set[str]
) -> Issues:
    issues = [_issue(f"{path}.name", p) for p in names.dns1123_label_errors(container.name)]
    if not container.image.strip():
        issues.append(_issue(f"{path}.image", "field 'image' is required"))
    elif container.image != container.image.strip():
        issues.append(_issue(f"{path}.image", "must not have leading or trailing whitespace"))
    else:
        issues += [_issue(f"{path}.image", p) for p in images.reference_errors(container.image)]
    for i, port in enumerate(container.ports):
        if port.name is not None:
            where = f"{path}.ports[{i}].name"
            issues += [_issue(where, p) for p in names.port_name_errors(port.name)]
            if port.name in port_names:
                issues.append(_issue(where, f"Duplicate value: {port.name!r}"))
            port_names.add(port.name)
    for i, env in enumerate(container.env):
        issues += _check_env(env, f"{path}.env[{i}]")
    for i, source in enumerate(container.env_from):
        issues += _check_env_from(source, f"{path}.envFrom[{i}]")
    issues += _check_resources(container.resources, f"{path}.resources")
    own_ports = {p.name for p in container.ports if p.name}
    issues += probes.check_probes(container.liveness_probe, container.readiness_probe,
                                  container.startup_probe, own_ports, path)
    mount_paths = set()
    for i, mount in enumerate(container.volume_mounts):
        where = f"{path}.volumeMounts[{i}]"
        if mount.name not in volume_names:
            issues.append(_issue(f"{where}.name",
                                 f"Not found: no volume named {mount.name!r} in the pod's volumes"))
        if not mount.mount_path:
            issues.append(_issue(f"{where}.mountPath", "field 'mountPath' is required"))
        elif mount.mount_path in mount_paths:
            issues.append(_issue(f"{where}.mountPath", "must be unique"))
        mount_paths.add(mount.mount_path)
        if mount.sub_path is not None:
            issues += _check_relative_path(mount.sub_path, f"{where}.subPath")
    return issues


def _check_restart_policy(container: pods.Container, path: str, *, init: bool) -> Issues:
    """Kubernetes' rules: restartPolicy only on init containers (sidecars); probes only on
    containers that keep running (app containers and sidecars)."""
    if not init:
        if container.restart_policy is not None:
            return [_issue(f"{path}.restartPolicy",
                           "Forbidden: may not be set for non-init containers; an init "
                           "container with restartPolicy Always is a sidecar")]
        return []
    if container.restart_policy == "Always":
        return []
    return [
        _issue(f"{path}.{field}", f"Forbidden: may not be set for init containers without "
                                  f"restartPolicy=Always (an init container runs to completion; "
                                  f"remove {field} or make it a sidecar)")
        for field, probe in (("livenessProbe", container.liveness_probe),
                             ("readinessProbe", container.readiness_probe),
                             ("startupProbe", container.startup_probe),
                             ("lifecycle", container.lifecycle))
        if probe is not None
    ]


def _check_env(env: pods.EnvVar, path: str) -> Issues:
    issues = [_issue(f"{path}.name", p) for p in names.env_var_name_errors(env.name)]
    source = env.value_from
    if source is None:
        return issues
    if env.value:
        issues.append(_issue(f"{path}.valueFrom",
                             "may not be specified when `value` is not empty"))
    given = [s for s in (source.config_map_key_ref, source.secret_key_ref, source.field_ref,
                         source.resource_field_ref) if s is not None]
    if len(given) != 1:
        issues.append(_issue(f"{path}.valueFrom", "must specify exactly one of configMapKeyRef, "
                                                  "secretKeyRef, fieldRef and resourceFieldRef"))
    if source.resource_field_ref is not None:
        issues += check_resource_field_ref(source.resource_field_ref,
                                           f"{path}.valueFrom.resourceFieldRef")
    for ref, field in ((source.config_map_key_ref, "configMapKeyRef"),
                       (source.secret_key_ref, "secretKeyRef")):
        if ref is not None:
            where = f"{path}.valueFrom.{field}"
            issues += validation.check_reference_name(f"{where}.name", ref.name)
            issues += [_issue(f"{where}.key", p) for p in names.config_map_key_errors(ref.key)]
    if source.field_ref is not None:
        field_path = source.field_ref.field_path
        if field_path not in _FIELD_PATHS and not _FIELD_PATH_SUBSCRIPT.fullmatch(field_path):
            issues.append(_issue(
                f"{path}.valueFrom.fieldRef.fieldPath",
                f"unsupported value {field_path!r}: supported values are "
                + ", ".join(sorted(_FIELD_PATHS))
                + ", metadata.labels['<key>'] and metadata.annotations['<key>']"))
        version = source.field_ref.api_version
        if version not in (None, "v1"):
            issues.append(_issue(f"{path}.valueFrom.fieldRef.apiVersion",
                                 f"unsupported value {version!r}: use v1"))
    return issues


def _check_env_from(source: pods.EnvFromSource, path: str) -> Issues:
    issues: Issues = []
    refs = [r for r in (source.config_map_ref, source.secret_ref) if r is not None]
    if len(refs) != 1:
        issues.append(_issue(path, "must specify exactly one of configMapRef and secretRef"))
    if source.prefix:
        issues += [_issue(f"{path}.prefix", p) for p in names.env_var_name_errors(source.prefix)]
    if source.config_map_ref is not None:
        issues += validation.check_reference_name(f"{path}.configMapRef.name",
                                                  source.config_map_ref.name)
    if source.secret_ref is not None:
        issues += validation.check_reference_name(f"{path}.secretRef.name",
                                                  source.secret_ref.name)
    return issues


def _check_resources(resources: pods.ResourceRequirements, path: str) -> Issues:
    issues: Issues = []
    for group, values in (("requests", resources.requests), ("limits", resources.limits)):
        for name, value in values.items():
            where = errors.child(f"{path}.{group}", name)
            issues += _check_resource_name(name, where)
            amount = quantities.parse_quantity(value)
            if amount < 0:
                issues.append(_issue(where, f"must be greater than or equal to 0, not {value!r}"))
            elif "/" in name and amount != amount.to_integral_value():
                issues.append(_issue(where, f"must be an integer for extended resource {name}"))
    for name, limit in resources.limits.items():
        request = resources.requests.get(name)
        if request is None:
            continue
        if quantities.parse_quantity(request) > quantities.parse_quantity(limit):
            issues.append(_issue(errors.child(f"{path}.requests", name),
                                 f"must be less than or equal to {name} limit of {limit}"))
        elif "/" in name and request != limit:
            issues.append(_issue(errors.child(f"{path}.requests", name),
                                 f"must be equal to {name} limit of {limit}"))
    for name in resources.requests:
        if "/" in name and name not in resources.limits:
            issues.append(_issue(errors.child(f"{path}.limits", name),
                                 f"Limit must be set for extended resource {name}"))
    return issues


def _check_resource_name(name: str, path: str) -> Issues:
    if name in SUPPORTED_RESOURCES:
        return []
    if "/" in name and not name.startswith(("kubernetes.io/", "requests.")):
        return [_issue(path, f"resource name {name!r}: {p}")
                for p in names.qualified_name_errors(name)]
    return [_issue(path, f"resource {name!r} is not supported by gitkube yet (supported: "
                         "cpu, memory, and extended resources such as example.com/dongle)")]


def _check_volume(volume: pods.Volume, path: str) -> Issues:
    issues = [_issue(f"{path}.name", p) for p in names.dns1123_label_errors(volume.name)]
    given = [s for s in (volume.config_map, volume.secret, volume.empty_dir, volume.downward_api,
                         volume.persistent_volume_claim, volume.host_path) if s is not None]
    if not given:
        issues.append(_issue(path, "must specify a volume type: configMap, secret, emptyDir, "
                                   "downwardAPI, persistentVolumeClaim or hostPath (the types "
                                   "gitkube supports)"))
    elif len(given) > 1:
        issues.append(_issue(path, "may not specify more than 1 volume type"))
    if volume.config_map is not None:
        where = f"{path}.configMap"
        issues += validation.check_reference_name(f"{where}.name", volume.config_map.name)
        issues += _check_items(volume.config_map.items, f"{where}.items")
    if volume.secret is not None:
        where = f"{path}.secret"
        issues += validation.check_reference_name(f"{where}.secretName",
                                                  volume.secret.secret_name)
        issues += _check_items(volume.secret.items, f"{where}.items")
    if volume.downward_api is not None:
        issues += _check_downward_items(volume.downward_api.items, f"{path}.downwardAPI.items")
    if volume.persistent_volume_claim is not None:
        issues += validation.check_reference_name(f"{path}.persistentVolumeClaim.claimName",
                                                  volume.persistent_volume_claim.claim_name)
    if volume.host_path is not None:
        issues += _check_host_path(volume.host_path.path, f"{path}.hostPath.path")
    return issues


def _check_host_path(value: str, path: str) -> Issues:
    """An absolute path on the node without ``..`` (``validatePathNoBacksteps``)."""
    if not value:
        return [_issue(path, "field 'path' is required")]
    if not value.startswith("/"):
        return [_issue(path, f"must be an absolute path on the node, not {value!r}")]
    if ".." in value.split("/"):
        return [_issue(path, "must not contain '..'")]
    return []


#: What a downwardAPI volume file may hold (node and status fields are env-only).
_VOLUME_FIELD_PATHS = frozenset({"metadata.name", "metadata.namespace", "metadata.uid",
                                 "metadata.labels", "metadata.annotations"})


def _check_downward_items(items: list[pods.DownwardAPIVolumeFile], path: str) -> Issues:
    issues: Issues = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        issues += _check_relative_path(item.path, f"{where}.path")
        if (item.field_ref is None) == (item.resource_field_ref is None):
            issues.append(_issue(where, "must specify exactly one of fieldRef and "
                                        "resourceFieldRef"))
        if item.field_ref is not None:
            field_path = item.field_ref.field_path
            if (field_path not in _VOLUME_FIELD_PATHS
                    and not _FIELD_PATH_SUBSCRIPT.fullmatch(field_path)):
                issues.append(_issue(f"{where}.fieldRef.fieldPath", (
                    f"unsupported value {field_path!r}: supported values are "
                    + ", ".join(sorted(_VOLUME_FIELD_PATHS))
                    + ", metadata.labels['<key>'] and metadata.annotations['<key>']")))
        if item.resource_field_ref is not None:
            ref = item.resource_field_ref
            issues += check_resource_field_ref(ref, f"{where}.resourceFieldRef")
            if not ref.container_name:
                issues.append(_issue(f"{where}.resourceFieldRef.containerName",
                                     "field 'containerName' is required in a volume"))
    return issues


def _check_items(items: list[pods.KeyToPath], path: str) -> Issues:
    issues: Issues = []
    for i, item in enumerate(items):
        issues += [_issue(f"{path}[{i}].key", p) for p in names.config_map_key_errors(item.key)]
        issues += _check_relative_path(item.path, f"{path}[{i}].path")
    return issues


def _check_relative_path(value: str, path: str) -> Issues:
    if not value:
        return [_issue(path, "must not be empty")]
    if value.startswith("/"):
        return [_issue(path, "must be a relative path")]
    if ".." in value.split("/"):
        return [_issue(path, "must not contain '..'")]
    return []


def _check_toleration(toleration: pods.Toleration, path: str) -> Issues:
    issues: Issues = []
    if toleration.key:
        issues += [_issue(f"{path}.key", p) for p in names.qualified_name_errors(toleration.key)]
    elif toleration.operator != "Exists":
        issues.append(_issue(f"{path}.operator",
                             "operator must be Exists when `key` is empty, which means "
                             "\"match all values and all keys\""))
    if toleration.operator == "Exists" and toleration.value:
        issues.append(_issue(f"{path}.operator",
                             "value must be empty when `operator` is 'Exists'"))
    if toleration.operator in ("Gt", "Lt") and not affinity.DECIMAL_INTEGER.fullmatch(
            toleration.value or ""):
        issues.append(_issue(f"{path}.value",
                             f"{toleration.value or ''!r} must be a decimal integer (no leading "
                             f"zeros) when `operator` is {toleration.operator!r}"))
    if toleration.toleration_seconds is not None and toleration.effect != "NoExecute":
        issues.append(_issue(f"{path}.effect",
                             "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return issues


#: What a resourceFieldRef may name (Kubernetes' validContainerResourceFieldPathPrefixes).
RESOURCE_FIELDS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory",
                   "requests.cpu", "requests.ephemeral-storage", "requests.memory")
_CPU_DIVISORS = ("1m", "1")
_MEMORY_DIVISORS = ("1", "1k", "1M", "1G", "1T", "1P", "1E",
                    "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")


def check_resource_field_ref(ref: pods.ResourceFieldSelector, path: str) -> Issues:
    """Kubernetes' validateContainerResourceFieldSelector (hugepages are not supported)."""
    if ref.resource not in RESOURCE_FIELDS:
        return [_issue(f"{path}.resource", f"unsupported value {ref.resource!r}: supported "
                                           "values are " + ", ".join(RESOURCE_FIELDS))]
    if ref.divisor is None:
        return []
    divisor = quantities.parse_quantity(ref.divisor)
    allowed: tuple[str, ...]
    if ref.resource.endswith(".cpu"):
        allowed = _CPU_DIVISORS
        what = "cpu"
    else:
        allowed = _MEMORY_DIVISORS
        what = ref.resource.split(".", 1)[1]
    if divisor not in [quantities.parse_quantity(a) for a in allowed]:
        return [_issue(f"{path}.divisor", f"only divisor's values {', '.join(allowed)} are "
                                          f"supported with the {what} resource")]
    return []


def _check_resource_refs(spec: pods.PodSpec, path: str) -> Issues:
    """A resourceFieldRef's containerName must name a container of the pod."""
    issues: Issues = []
    known = {c.name for c in [*spec.init_containers, *spec.containers]}
    for field, containers in (("initContainers", spec.init_containers),
                              ("containers", spec.containers)):
        for i, container in enumerate(containers):
            for j, env in enumerate(container.env):
                ref = env.value_from.resource_field_ref if env.value_from else None
                if ref is not None and ref.container_name and ref.container_name not in known:
                    issues.append(_issue(
                        f"{path}.{field}[{i}].env[{j}].valueFrom.resourceFieldRef.containerName",
                        f"Not found: no container named {ref.container_name!r} in the pod"))
    for i, volume in enumerate(spec.volumes):
        for j, item in enumerate(volume.downward_api.items if volume.downward_api else []):
            ref = item.resource_field_ref
            if ref is not None and ref.container_name and ref.container_name not in known:
                issues.append(_issue(
                    f"{path}.volumes[{i}].downwardAPI.items[{j}].resourceFieldRef.containerName",
                    f"Not found: no container named {ref.container_name!r} in the pod"))
    return issues


#: Kubernetes' limits on dnsConfig (pkg/apis/core/validation).
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCHES = 32
MAX_DNS_SEARCH_CHARS = 2048


def _check_dns(spec: pods.PodSpec, path: str) -> Issues:
    config = spec.dns_config
    if spec.dns_policy == "None" and config is None:
        return [_issue(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")]
    if config is None:
        return []
    where = f"{path}.dnsConfig"
    issues: Issues = []
    if spec.dns_policy == "None" and not config.nameservers:
        issues.append(_issue(f"{where}.nameservers",
                             "must provide at least one DNS nameserver when `dnsPolicy` is None"))
    if len(config.nameservers) > MAX_DNS_NAMESERVERS:
        issues.append(_issue(f"{where}.nameservers",
                             f"must not have more than {MAX_DNS_NAMESERVERS} nameservers"))
    for i, server in enumerate(config.nameservers):
        try:
            ipaddress.ip_address(server)
        except ValueError:
            issues.append(_issue(f"{where}.nameservers[{i}]",
                                 f"{server!r} must be a valid IP address"))
    if len(config.searches) > MAX_DNS_SEARCHES:
        issues.append(_issue(f"{where}.searches",
                             f"must not have more than {MAX_DNS_SEARCHES} search paths"))
    if len(" ".join(config.searches)) > MAX_DNS_SEARCH_CHARS:
        issues.append(_issue(f"{where}.searches",
                             f"must not have more than {MAX_DNS_SEARCH_CHARS} characters "
                             "(including spaces) in the search list"))
    for i, search in enumerate(config.searches):
        if search != ".":
            issues += [_issue(f"{where}.searches[{i}]", p)
                       for p in names.dns1123_subdomain_errors(search.removesuffix("."))]
    for i, option in enumerate(config.options):
        if not option.name:
            issues.append(_issue(f"{where}.options[{i}]", "Option.Name must not be empty"))
    return issues
