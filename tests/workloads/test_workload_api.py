"""DaemonSet, StatefulSet, PersistentVolumeClaim and StorageClass as gitkube reads them from Git:
Kubernetes' defaults and rules, and a sentence for what local storage cannot do."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitkube.api import daemonsets, registry, statefulsets, storage
from tests.api import manifests as m


def _daemonset(**spec: Any) -> dict[str, Any]:
    doc = m.deployment(spec)
    doc["kind"] = "DaemonSet"
    return doc


def _statefulset(**spec: Any) -> dict[str, Any]:
    doc = m.deployment({"serviceName": "web", "volumeClaimTemplates": [_claim_template()],
                        **spec})
    doc["kind"] = "StatefulSet"
    doc["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}]
    return doc


def _claim_template(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def _claim(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", **_claim_template(**spec)}


def _class(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "local"}, "provisioner": "rancher.io/local-path", **fields}


LOCAL = ("gitkube's volumes are directories on one node's local disk (as k3s's local-path "
         "provisioner makes them), which pods on other nodes cannot reach; use ReadWriteOnce "
         "(pods on one node) or ReadWriteOncePod")

CASES = [
    ("ds-selector-mismatch", _daemonset(selector={"matchLabels": {"app": "other"}}),
     "spec.template.metadata.labels",
     "`selector` does not match template `labels` (selector: app=other; labels: app=web)"),
    ("ds-restart-never", m.with_path(_daemonset(), ["spec", "template", "spec",
                                                    "restartPolicy"], "Never"),
     "spec.template.spec.restartPolicy",
     "unsupported value 'Never': supported values are 'Always'"),
    ("ds-no-surge-no-unavailable", _daemonset(updateStrategy={
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}),
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0"),
    ("ds-surge-over-100", _daemonset(updateStrategy={"rollingUpdate": {"maxSurge": "150%"}}),
     "spec.updateStrategy.rollingUpdate.maxSurge", "must not be greater than 100%"),
    ("ds-strategy-type", _daemonset(updateStrategy={"type": "Recreate"}),
     "spec.updateStrategy.type",
     "unsupported value 'Recreate': supported values are 'RollingUpdate' or 'OnDelete'"),
    ("sts-on-delete-with-rolling-update", _statefulset(updateStrategy={
        "type": "OnDelete", "rollingUpdate": {"partition": 1}}),
     "spec.updateStrategy.rollingUpdate", "only allowed for updateStrategy 'RollingUpdate'"),
    ("sts-max-unavailable-0", _statefulset(updateStrategy={
        "rollingUpdate": {"maxUnavailable": 0}}),
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "must be greater than 0"),
    ("sts-negative-partition", _statefulset(updateStrategy={"rollingUpdate": {"partition": -1}}),
     "spec.updateStrategy.rollingUpdate.partition",
     "must be greater than or equal to 0, not -1"),
    ("sts-mount-of-nothing", m.with_path(_statefulset(), ["spec", "volumeClaimTemplates"], []),
     "spec.template.spec.containers[0].volumeMounts[0].name",
     "Not found: no volume named 'data' in the pod's volumes"),
    ("sts-duplicate-claim", _statefulset(volumeClaimTemplates=[_claim_template()] * 2),
     "spec.volumeClaimTemplates[1].metadata.name", "Duplicate value: 'data'"),
    ("sts-claim-read-write-many", _statefulset(volumeClaimTemplates=[_claim_template(
        accessModes=["ReadWriteMany"])]),
     "spec.volumeClaimTemplates[0].spec.accessModes[0]", f"ReadWriteMany is not possible: {LOCAL}"),
    ("sts-service-name", _statefulset(serviceName="My_Service"), "spec.serviceName",
     "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
     "and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc', "
     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("sts-policy", _statefulset(podManagementPolicy="Random"), "spec.podManagementPolicy",
     "unsupported value 'Random': supported values are 'OrderedReady' or 'Parallel'"),
    ("pvc-read-write-many", _claim(accessModes=["ReadWriteMany"]), "spec.accessModes[0]",
     f"ReadWriteMany is not possible: {LOCAL}"),
    ("pvc-read-only-many", _claim(accessModes=["ReadOnlyMany"]), "spec.accessModes[0]",
     f"ReadOnlyMany is not possible: {LOCAL}"),
    ("pvc-no-access-mode", _claim(accessModes=[]), "spec.accessModes",
     "at least 1 access mode is required (ReadWriteOnce)"),
    ("pvc-once-pod-and-more", _claim(accessModes=["ReadWriteOncePod", "ReadWriteOnce"]),
     "spec.accessModes", "may not use ReadWriteOncePod with other access modes"),
    ("pvc-no-size", _claim(resources={}), "spec.resources.requests.storage",
     "field 'storage' is required (for example 1Gi)"),
    ("pvc-block", _claim(volumeMode="Block"), "spec.volumeMode",
     "Block is not possible: gitkube's volumes are directories, not block devices; use "
     "Filesystem"),
    ("pvc-data-source", _claim(dataSource={"kind": "VolumeSnapshot", "name": "s"}),
     "spec.dataSource", "field 'dataSource' is not supported by gitkube yet"),
    ("host-path-relative", m.pod({"containers": [m.container()], "volumes": [
        {"name": "logs", "hostPath": {"path": "var/log"}}]}), "spec.volumes[0].hostPath.path",
     "must be an absolute path on the node, not 'var/log'"),
    ("host-path-type", m.pod({"containers": [m.container()], "volumes": [
        {"name": "logs", "hostPath": {"path": "/var/log", "type": "Folder"}}]}),
     "spec.volumes[0].hostPath.type",
     "unsupported value 'Folder': supported values are '', 'DirectoryOrCreate', 'Directory', "
     "'FileOrCreate', 'File', 'Socket', 'CharDevice' or 'BlockDevice'"),
    ("class-relative-node-path", _class(parameters={"nodePath": "data"}),
     "parameters[nodePath]", "must be an absolute path on the nodes, not 'data'"),
    ("class-binding-mode", _class(volumeBindingMode="Later"), "volumeBindingMode",
     "unsupported value 'Later': supported values are 'Immediate' or 'WaitForFirstConsumer'"),
]


@pytest.mark.parametrize(("doc", "path", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refused_with_path_and_sentence(doc: dict[str, Any], path: str, message: str) -> None:
    found = m.issues(doc)
    assert found.get(path) == message, found


def test_daemonset_defaults_are_kubernetes() -> None:
    ds = registry.parse_object(_daemonset())
    assert isinstance(ds, daemonsets.DaemonSet)
    update = ds.spec.update_strategy
    assert update.type == "RollingUpdate" and update.rolling_update is not None
    assert (update.rolling_update.max_unavailable, update.rolling_update.max_surge) == (1, 0)
    assert ds.spec.revision_history_limit == 10


@pytest.mark.parametrize(("update", "desired", "expected"), [
    pytest.param({}, 10, (0, 1), id="default-one-unavailable"),
    pytest.param({"maxUnavailable": "25%"}, 10, (0, 3), id="percent-rounds-up"),
    pytest.param({"maxUnavailable": 0, "maxSurge": "10%"}, 5, (1, 0), id="surge-rounds-up"),
    pytest.param({"maxUnavailable": "10%"}, 0, (0, 0), id="no-nodes-nothing"),
])
def test_surge_and_unavailable_counts(update: dict[str, Any], desired: int,
                                      expected: tuple[int, int]) -> None:
    ds = registry.parse_object(_daemonset(updateStrategy={"rollingUpdate": update}))
    assert isinstance(ds, daemonsets.DaemonSet)
    assert daemonsets.surge_and_unavailable(ds, desired) == expected


def test_statefulset_defaults_are_kubernetes() -> None:
    sts = registry.parse_object(_statefulset())
    assert isinstance(sts, statefulsets.StatefulSet)
    assert sts.spec.replicas == 1 and sts.spec.pod_management_policy == "OrderedReady"
    assert sts.spec.update_strategy.type == "RollingUpdate"
    policy = sts.spec.persistent_volume_claim_retention_policy
    assert (policy.when_deleted, policy.when_scaled) == ("Retain", "Retain")
    assert (statefulsets.partition(sts), statefulsets.max_unavailable(sts)) == (0, 1)


def test_a_kubectl_export_of_a_statefulset_is_accepted() -> None:
    doc = _statefulset()
    template = copy.deepcopy(doc["spec"]["volumeClaimTemplates"][0])
    template.update({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "status": {"phase": "Pending"}})
    template["metadata"]["creationTimestamp"] = None
    doc["spec"]["volumeClaimTemplates"] = [template]
    assert registry.parse_object(doc).kind == "StatefulSet"


def test_a_claim_without_class_waits_for_the_default() -> None:
    claim = registry.parse_object(_claim())
    assert isinstance(claim, storage.PersistentVolumeClaim)
    assert claim.spec.storage_class_name is None and claim.requested_bytes() == 1 << 30
