"""Simulated nodes: inventory ``count`` templates, and the agent served in this process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.agent import protocol
from gitkube.api import errors as api_errors
from gitkube.api import registry, simnodes
from gitkube.nodes import client, inprocess


@pytest.mark.parametrize(
    ("template", "i", "expected"),
    [
        pytest.param("sim-{i}", 7, "sim-7", id="plain"),
        pytest.param("sim-{i:03d}", 7, "sim-007", id="format"),
        pytest.param("zone-{i % 3}", 7, "zone-1", id="modulo"),
        pytest.param("rack-{i // 4}", 9, "rack-2", id="floor-division"),
        pytest.param("{i + 1}-of-n", 0, "1-of-n", id="plus"),
        pytest.param("no placeholder", 3, "no placeholder", id="literal"),
    ],
)
def test_templates(template: str, i: int, expected: str) -> None:
    assert simnodes.render(template, i) == expected


def test_a_count_entry_becomes_its_nodes() -> None:
    inventory = registry.parse_inventory({"nodes": [
        {"name": "real", "address": "10.0.0.1"},
        {"name": "sim-{i:02d}", "count": 3, "transport": "sim", "stateDir": "/s/{i}",
         "labels": {"zone": "z{i % 2}"}, "capacity": {"cpu": "2"},
         "taints": [{"key": "slot", "value": "{i}", "effect": "PreferNoSchedule"}]},
    ]})
    assert [(n.name, n.labels, n.state_dir, n.runtime.kind) for n in inventory.nodes] == [
        ("real", {}, None, "podman"),
        ("sim-00", {"zone": "z0"}, "/s/0", "sim"),
        ("sim-01", {"zone": "z1"}, "/s/1", "sim"),
        ("sim-02", {"zone": "z0"}, "/s/2", "sim"),
    ]
    assert [n.taints[0].value for n in inventory.nodes[1:]] == ["0", "1", "2"]
    assert {n.capacity["cpu"] for n in inventory.nodes[1:]} == {"2"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param({"name": "x{i}", "count": 2}, "`count` is for simulated nodes", id="ssh"),
        pytest.param({"name": "x{j}", "count": 2, "transport": "sim"}, "cannot expand '{j}'",
                     id="unknown-placeholder"),
        pytest.param({"name": "x{i}", "count": 0, "transport": "sim"},
                     "greater than or equal to 1", id="count-zero"),
    ],
)
def test_bad_count_entries_are_refused(entry: dict[str, object], message: str) -> None:
    with pytest.raises(api_errors.ObjectInvalid) as caught:
        registry.parse_inventory({"nodes": [entry]})
    assert message in str(caught.value)


def test_the_agent_answers_in_process_and_keeps_its_pods_on_disk(tmp_path: Path) -> None:
    inventory = registry.parse_inventory({"cluster": "c1", "nodes": [
        {"name": "sim-{i}", "count": 1, "transport": "sim", "stateDir": str(tmp_path / "{i}"),
         "capacity": {"cpu": "2"}}]})
    [node] = inventory.nodes
    transport = client.connect(node)
    assert isinstance(transport, inprocess.InProcessTransport)
    agent = client.NodeClient(transport, node, "c1")
    pod: protocol.PodRun = {
        "uid": "u1", "name": "web", "namespace": "default", "hash": "h1",
        "restartPolicy": "Always",
        "containers": [{"name": "main", "image": "registry.local/web:1",
                        "imagePullPolicy": "IfNotPresent"}],
    }
    agent.request("converge", pods=[pod])
    # A new client (the next CLI process) finds the pod running.
    again = client.NodeClient(client.connect(node), node, "c1")
    report = again.request("observe")["report"]
    [seen] = report["pods"]
    assert (seen["name"], seen["phase"]) == ("web", "Running")
    assert json.loads((tmp_path / "0" / "sim.json").read_text())["pods"]
    with pytest.raises(errors.AgentError, match="simulated"):
        transport.put(b"x", "/tmp/x")
