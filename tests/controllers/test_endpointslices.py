"""plan_endpointslices: Kubernetes' EndpointSlice controller, as tables of store → slices.

An endpoint is written ``pod:RST`` with a letter for each condition that is true (Ready,
Serving, Terminating) and ``-`` for one that is false; ports ``name/protocol/port``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from gitkube.api import core, discovery
from gitkube.api.meta import KubeObject
from gitkube.controllers import endpoints, endpointslices
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot

from . import factories as f

NODE = f.node("node-1")


def pod(name: str, *, ready: bool = True, ip: str | None = "10.244.0.5", app: str = "web",
        phase: str = "Running", terminating: bool = False, node: str = "node-1",
        **spec: Any) -> core.Pod:
    made = f.pod(name, node=node, phase=phase, ready=ready, ip=ip, app=app)
    data = made.to_dict()
    data["spec"].update(spec)
    if terminating:
        data["metadata"]["deletionTimestamp"] = f.at(5)
    return core.Pod.model_validate(data)


def http_pod(name: str, port: int, **kwargs: Any) -> core.Pod:
    containers = [{"name": "web", "image": "busybox:1",
                   "ports": [{"name": "http", "containerPort": port}]}]
    return pod(name, containers=containers, **kwargs)


def flags(endpoint: discovery.Endpoint) -> str:
    c = endpoint.conditions
    name = endpoint.target_ref.name if endpoint.target_ref else "?"
    return f"{name}:{'R' if c.ready else '-'}{'S' if c.serving else '-'}" \
           f"{'T' if c.terminating else '-'}"


def written(actions: Iterable[Action]) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    out = []
    for action in actions:
        assert action.status_only and action.source == "endpointslice"
        slice_ = action.obj
        if slice_ is None:
            out.append((action.kind.value, (), ()))
            continue
        assert isinstance(slice_, discovery.EndpointSlice)
        ports = tuple(f"{p.name}/{p.protocol}/{p.port}" for p in slice_.ports)
        out.append((action.kind.value, ports, tuple(flags(e) for e in slice_.endpoints)))
    return out


def plan(*objs: KubeObject) -> list[Action]:
    return endpointslices.plan_endpointslices(f.snapshot(NODE, *objs), f.clock())


PORT = ("/TCP/8080",)


@pytest.mark.parametrize(("store", "expected"), [
    pytest.param([f.service(), pod("web-1")], [("create", PORT, ("web-1:RS-",))],
                 id="ready-pod-serves"),
    pytest.param([f.service(), pod("web-1", ready=False)], [("create", PORT, ("web-1:---",))],
                 id="not-ready-pod-is-listed-not-ready"),
    pytest.param([f.service(), pod("web-1", terminating=True)],
                 [("create", PORT, ("web-1:-ST",))], id="terminating-pod-stops-being-ready"),
    pytest.param([f.service(publishNotReadyAddresses=True), pod("web-1", ready=False),
                  pod("web-2", terminating=True, ip="10.244.0.6")],
                 [("create", PORT, ("web-1:R--", "web-2:RST"))], id="publish-not-ready"),
    pytest.param([f.service(), pod("web-1", ip=None)], [("create", (), ())],
                 id="pod-without-address-placeholder"),
    pytest.param([f.service(), pod("web-1", phase="Succeeded", ready=False)],
                 [("create", (), ())], id="finished-pod-left-out"),
    pytest.param([f.service(), pod("web-1", node="gone")], [("create", (), ())],
                 id="pod-on-unknown-node-left-out"),
    pytest.param([f.service(app="nothing")], [("create", (), ())],
                 id="selector-selects-nothing"),
    pytest.param([f.service(), pod("db-1", app="db")], [("create", (), ())],
                 id="other-labels-not-selected"),
    pytest.param([f.service(selector={}), pod("web-1")], [], id="no-selector-no-slices"),
    pytest.param([f.service(type="ExternalName", externalName="x.example", ports=[]),
                  pod("web-1")], [], id="external-name-no-slices"),
    pytest.param([f.service(ports=[{"port": 80, "targetPort": "http"}]),
                  http_pod("web-1", 8080), http_pod("web-2", 9090, ip="10.244.0.6"),
                  pod("web-3", ip="10.244.0.7")],
                 [("create", (), ("web-3:RS-",)), ("create", ("/TCP/8080",), ("web-1:RS-",)),
                  ("create", ("/TCP/9090",), ("web-2:RS-",))],
                 id="named-target-port-per-pod"),
    pytest.param([f.service(ports=[{"port": 53, "protocol": "UDP", "name": "dns"},
                                   {"port": 53, "name": "dns-tcp"}]), pod("web-1")],
                 [("create", ("dns/UDP/53", "dns-tcp/TCP/53"), ("web-1:RS-",))],
                 id="several-ports"),
])
def test_slices(store: list[KubeObject], expected: list[Any]) -> None:
    assert written(plan(*store)) == expected


def test_a_slice_names_its_service_and_is_owned_by_it() -> None:
    svc = f.service(clusterIP="None")
    svc.metadata.labels.update({"tier": "front", discovery.SERVICE_NAME_LABEL: "spoof"})
    [action] = plan(svc, pod("web-1", hostname="web-1", subdomain="web"))
    slice_ = action.obj
    assert isinstance(slice_, discovery.EndpointSlice)
    assert slice_.name.startswith("web-") and len(slice_.name) == len("web-") + 5
    assert slice_.metadata.creation_timestamp == f.at(0) and slice_.metadata.uid
    assert slice_.metadata.labels == {
        "tier": "front", "service.kubernetes.io/headless": "",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert [(r.kind, r.name, r.controller) for r in slice_.metadata.owner_references] == [
        ("Service", "web", True)]
    [endpoint] = slice_.endpoints
    assert endpoint.to_dict() == {
        "addresses": ["10.244.0.5"], "hostname": "web-1", "nodeName": "node-1",
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-1",
                      "uid": "uid-web-1"}}


def settle(snapshot: Snapshot) -> Snapshot:
    actions = endpointslices.plan_endpointslices(snapshot, f.clock())
    after = snapshot.with_actions(actions)
    assert endpointslices.plan_endpointslices(after, f.clock()) == []
    return after


def slices_of(snapshot: Snapshot) -> list[tuple[str, ...]]:
    return sorted(tuple(flags(e) for e in s.endpoints)
                  for s in snapshot.of_kind(discovery.EndpointSlice))


def many(count: int, **kwargs: Any) -> list[core.Pod]:
    return [pod(f"web-{i:03d}", ip=f"10.244.{i // 250}.{i % 250 + 1}", **kwargs)
            for i in range(count)]


def test_at_most_100_endpoints_a_slice() -> None:
    snap = settle(f.snapshot(NODE, f.service(), *many(250)))
    assert sorted(len(s) for s in slices_of(snap)) == [50, 100, 100]


def test_a_pod_turning_ready_rewrites_only_its_slice() -> None:
    pods = many(250, ready=False)
    snap = settle(f.snapshot(NODE, f.service(), *pods))
    ready = pod("web-042", ip=pods[42].status.pod_ip)
    changed = snap.with_actions([Action(ActionKind.UPDATE, endpointslices.ObjectRef.of(ready),
                                        "ready", obj=ready)])
    actions = endpointslices.plan_endpointslices(changed, f.clock())
    assert [a.kind for a in actions] == [ActionKind.UPDATE]
    assert "web-042:RS-" in written(actions)[0][2]


def test_new_endpoints_fill_a_slice_with_room_before_a_new_slice_is_made() -> None:
    snap = settle(f.snapshot(NODE, f.service(), *many(150)))
    grown = snap.with_actions([Action(ActionKind.CREATE, endpointslices.ObjectRef.of(p), "new",
                                      obj=p) for p in many(160)[150:]])
    actions = endpointslices.plan_endpointslices(grown, f.clock())
    assert [(a.kind, len(written([a])[0][2])) for a in actions] == [(ActionKind.UPDATE, 60)]


def test_deleted_pods_leave_at_once_and_an_emptied_slice_goes() -> None:
    snap = settle(f.snapshot(NODE, f.service(), *many(120)))
    keys = [p.key for p in many(120)[100:]]
    gone = snap.with_actions([Action(ActionKind.DELETE, endpointslices.ObjectRef.of(p), "gone")
                              for p in many(120) if p.key in keys])
    actions = endpointslices.plan_endpointslices(gone, f.clock())
    assert [a.kind for a in actions] == [ActionKind.DELETE]
    after = settle(gone.with_actions(actions))
    assert [len(s) for s in slices_of(after)] == [100]


def test_the_last_endpoint_leaving_keeps_one_empty_slice() -> None:
    one = pod("web-1")
    snap = settle(f.snapshot(NODE, f.service(), one))
    gone = snap.with_actions([Action(ActionKind.DELETE, endpointslices.ObjectRef.of(one), "x")])
    actions = endpointslices.plan_endpointslices(gone, f.clock())
    assert written(actions) == [("update", (), ())]
    [before] = snap.of_kind(discovery.EndpointSlice)
    after = actions[0].obj
    assert after is not None and after.metadata.uid == before.metadata.uid
    assert after.name == before.name


def test_a_selector_removed_deletes_the_slices() -> None:
    snap = settle(f.snapshot(NODE, f.service(), pod("web-1")))
    no_selector = f.service(selector={})
    changed = snap.with_actions([Action(ActionKind.UPDATE, endpointslices.ObjectRef.of(
        no_selector), "x", obj=no_selector)])
    actions = endpointslices.plan_endpointslices(changed, f.clock())
    assert [(a.kind, a.reason) for a in actions] == [(ActionKind.DELETE,
                                                     "service/web has no selector")]


def test_why_a_selected_pod_is_not_an_endpoint() -> None:
    svc = f.service(ports=[{"port": 80, "targetPort": "http"}])
    _, notes = endpoints.desired_endpoints(svc, [
        pod("a", ip=None), pod("b", phase="Failed", ready=False), pod("c", node="gone"),
        pod("d")], {"node-1": {}})
    assert [(n.pod, n.reason, n.excluded) for n in notes] == [
        ("a", "the pod has no IP address yet", True),
        ("b", "the pod is Failed", True),
        ("c", "its node gone is not a node of the cluster", True),
        ("d", "the pod has no container port named http/TCP, so that port of the Service does "
              "not reach it", False)]
    assert endpoints.not_ready_reason(svc, pod("e", ready=False)) == "the pod is not Ready"
    assert endpoints.not_ready_reason(svc, pod("e", terminating=True)) == (
        "the pod is terminating")


def test_one_pass_creates_the_service_with_its_address_and_its_slice() -> None:
    from gitkube.api import services
    from gitkube.reconcile import fixpoint

    snap = f.snapshot(NODE, pod("web-1"), desired=[NODE, f.git(pod("web-1")),
                                                   f.git(f.service())])
    actions = fixpoint.plan_pass(snap, f.clock())
    creates = {(a.target.kind, a.target.name): a for a in actions
               if a.kind is ActionKind.CREATE}
    svc = creates["Service", "web"].obj
    assert isinstance(svc, services.Service) and svc.spec.cluster_ip == "10.96.184.169"
    assert creates["Service", "web"].reason == ("declared in Git at web.yaml:1; cluster IP "
                                                "10.96.184.169 allocated from 10.96.0.0/12")
    assert creates["Service", "kube-dns"].reason == (
        "the cluster DNS Service at 10.96.0.10, answered by every node's agent")
    [made] = [a for (kind, _), a in creates.items() if kind == "EndpointSlice"]
    assert written([made]) == [("create", PORT, ("web-1:RS-",))]
