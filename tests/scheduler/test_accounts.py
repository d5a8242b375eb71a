"""A pod runs only as a ServiceAccount its namespace has, as Kubernetes' admission decides:
``default`` always exists; another name must be declared, else the pod stays Pending with the
admission plugin's sentence."""

from __future__ import annotations

import pytest

from gitkube.api import accounts
from gitkube.api.meta import ObjectMeta
from gitkube.clock import FakeClock
from gitkube.planning.actions import ActionKind
from gitkube.scheduler import plan_scheduling

from . import builders as b


def account(name: str, namespace: str = "default") -> accounts.ServiceAccount:
    return accounts.ServiceAccount(metadata=ObjectMeta(name=name, namespace=namespace))


def runs_as(name: str | None, *, deprecated: str | None = None, namespace: str = "default"):
    pod = b.pod("web", namespace=namespace)
    pod.spec.service_account_name = name
    pod.spec.service_account = deprecated
    return pod


@pytest.mark.parametrize(
    ("pod", "declared", "outcome"),
    [
        pytest.param(runs_as(None), [], "n1", id="no-name-is-default"),
        pytest.param(runs_as("default", namespace="shop"), [], "n1",
                     id="default-in-every-namespace"),
        pytest.param(runs_as("robot"), [account("robot")], "n1", id="declared"),
        pytest.param(runs_as(None, deprecated="robot"), [account("robot")], "n1",
                     id="deprecated-serviceAccount"),
        pytest.param(runs_as("robot"), [], 'error looking up service account default/robot: '
                     'serviceaccount "robot" not found', id="missing"),
        pytest.param(runs_as("robot", namespace="shop"), [account("robot")],
                     'error looking up service account shop/robot: serviceaccount "robot" not '
                     'found', id="other-namespace"),
        pytest.param(runs_as("robot", deprecated="other"), [account("robot")], "n1",
                     id="name-wins-over-deprecated"),
    ],
)
def test_a_pod_runs_only_as_an_account_its_namespace_has(pod, declared, outcome) -> None:
    [action] = plan_scheduling(b.snapshot(b.node("n1"), *declared, pod), FakeClock())
    if action.kind is ActionKind.BIND:
        assert action.node == outcome
    else:
        assert action.kind is ActionKind.UNSCHEDULABLE
        assert action.obj.status.condition("PodScheduled").message == outcome
