"""Planner tables: which ConfigMap/Secret changes roll a Deployment, and immutable objects."""

from __future__ import annotations

from typing import Any

import pytest

from gitkube.api import apps, core
from gitkube.controllers import confighash, deployments, desired
from gitkube.planning.actions import ActionKind
from tests.controllers import factories as f

CM = f.configmap("cfg", {"MODE": "fast", "app.conf": "a=1"})
SECRET = f.secret("creds", {"PASSWORD": "hunter2"})


def _deployment(container: dict[str, Any], volumes: list[dict[str, Any]] | None = None,
                ) -> apps.Deployment:
    dep = f.deployment(replicas=2)
    data = dep.to_dict()
    spec = data["spec"]["template"]["spec"]
    spec["containers"] = [{"name": "app", "image": "busybox:1", **container}]
    if volumes:
        spec["volumes"] = volumes
    return apps.Deployment.model_validate(data)


def _rollout_name(dep: apps.Deployment, *objs: Any) -> str:
    """The ReplicaSet the deployment controller creates first for ``dep`` given ``objs``."""
    actions = deployments.plan_deployments(f.snapshot(dep, *objs), f.clock())
    [create] = [a for a in actions if a.kind is ActionKind.CREATE]
    assert isinstance(create.obj, apps.ReplicaSet)
    return create.obj.name


ENV_FROM = {"envFrom": [{"configMapRef": {"name": "cfg"}}]}
SECRET_KEY = {"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                   "key": "PASSWORD"}}}]}
OPTIONAL = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {
    "name": "later", "key": "x", "optional": True}}}]}
MOUNT = {"volumeMounts": [{"name": "v", "mountPath": "/etc/app"}]}
VOLUMES = [{"name": "v", "configMap": {"name": "cfg"}}]


@pytest.mark.parametrize(
    ("container", "volumes", "before", "after", "rolls"),
    [
        pytest.param(ENV_FROM, None, [CM], [f.configmap("cfg", {"MODE": "slow"})], True,
                     id="envFrom-configmap-value"),
        pytest.param(SECRET_KEY, None, [SECRET], [f.secret("creds", {"PASSWORD": "new"})],
                     True, id="secretKeyRef-value"),
        pytest.param(SECRET_KEY, None, [SECRET],
                     [f.secret("creds", {"PASSWORD": "hunter2", "OTHER": "x"})], False,
                     id="unreferenced-secret-key"),
        pytest.param(OPTIONAL, None, [], [f.configmap("later", {"x": "1"})], True,
                     id="optional-ref-appears"),
        pytest.param(MOUNT, VOLUMES, [CM], [f.configmap("cfg", {"MODE": "slow"})], False,
                     id="volume-only-updates-in-place"),
    ],
)
def test_what_rolls_a_deployment(
    container: dict[str, Any], volumes: list[dict[str, Any]] | None, before: list[Any],
    after: list[Any], rolls: bool,
) -> None:
    dep = _deployment(container, volumes)
    assert (_rollout_name(dep, *before) != _rollout_name(dep, *after)) is rolls


def test_a_changed_env_value_makes_a_new_replicaset_and_a_rolling_update() -> None:
    dep = _deployment(SECRET_KEY)
    first = _rollout_name(dep, SECRET)
    old = f.replicaset(first, 2, owner=dep, uid="uid-old", revision=1)
    old = old.model_copy(update={"spec": old.spec.model_copy(update={
        "template": deployments.rollout_template(dep, f.snapshot(SECRET))})})
    pods = [f.pod(f"{first}-{i}", owner=old, node="n1", phase="Running") for i in range(2)]
    changed = f.secret("creds", {"PASSWORD": "rotated"})
    actions = deployments.plan_deployments(f.snapshot(dep, changed, old, *pods), f.clock())
    [create] = [a for a in actions if a.kind is ActionKind.CREATE]
    assert isinstance(create.obj, apps.ReplicaSet)
    assert create.obj.name != first
    assert "new pod template (revision 2)" in create.reason
    annotations = create.obj.spec.template.metadata.annotations
    assert annotations[confighash.ANNOTATION] != old.spec.template.metadata.annotations[
        confighash.ANNOTATION]
    assert "rotated" not in str(create.obj.to_dict()) and "hunter2" not in str(old.to_dict())
    # The same Secret again: the existing ReplicaSet is the current one, nothing is created.
    same = deployments.plan_deployments(f.snapshot(dep, SECRET, old, *pods), f.clock())
    assert not [a for a in same if a.kind is ActionKind.CREATE]


def test_a_template_that_reads_nothing_keeps_its_replicaset_name() -> None:
    dep = f.deployment(replicas=1)
    assert _rollout_name(dep, CM) == f"web-{deployments.template_hash(dep)}"


def _stored(obj: Any, **changes: Any) -> Any:
    data = obj.to_dict()
    data.update(changes)
    data["metadata"]["uid"] = "uid-1"
    return type(obj).model_validate(data)


@pytest.mark.parametrize(
    ("stored", "declared", "refused"),
    [
        pytest.param(_stored(CM, immutable=True), _stored(CM, immutable=True, data={"MODE": "x"}),
                     "ConfigMap default/cfg is immutable: the change to its data in Git is "
                     "refused", id="immutable-configmap-data"),
        pytest.param(_stored(SECRET, immutable=True), _stored(SECRET, immutable=False),
                     "Secret default/creds is immutable", id="immutable-cannot-be-undone"),
        pytest.param(_stored(SECRET), _stored(SECRET, type="kubernetes.io/tls"),
                     "Secret default/creds keeps type Opaque: a Secret's type cannot change",
                     id="secret-type"),
        pytest.param(_stored(CM), _stored(CM, immutable=True), None, id="may-become-immutable"),
        pytest.param(_stored(CM, immutable=True),
                     _stored(CM, immutable=True, metadata={"name": "cfg", "labels": {"a": "b"}}),
                     None, id="metadata-of-immutable-may-change"),
    ],
)
def test_immutable_configmaps_and_secrets(stored: Any, declared: Any, refused: str | None
                                          ) -> None:
    snap = f.snapshot(stored, desired=[declared])
    actions = desired.plan_desired(snap, f.clock())
    mine = [a for a in actions if a.target.name == stored.name]
    if refused is None:
        assert [a.kind for a in mine] == [ActionKind.UPDATE]
    else:
        assert [a.kind for a in mine] == [ActionKind.NOOP]
        assert mine[0].reason.startswith(refused), mine[0].reason


def test_the_config_hash_reveals_no_value() -> None:
    spec = core.PodSpec.model_validate({"containers": [{"name": "a", "image": "b", **SECRET_KEY}]})
    digest = confighash.env_config_hash(spec, f.snapshot(SECRET), "default")
    assert digest is not None and "hunter2" not in digest and len(digest) == 16
