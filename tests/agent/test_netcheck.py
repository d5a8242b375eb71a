"""A request's network is checked before any of it reaches nft, ip or DNS: what is refused,
with the field named (the handler answers it as a permanent bad request)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitkube.agent import handler, netcheck

GOOD: dict[str, Any] = {
    "podCIDR": "10.244.1.0/24", "clusterCIDR": "10.244.0.0/16", "dnsIP": "10.96.0.10",
    "routes": [{"node": "node-2", "podCIDR": "10.244.2.0/24", "via": "198.18.0.12"}],
    "services": [{"name": "web", "namespace": "default", "clusterIP": "10.96.0.20",
                  "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
                  "endpoints": [{"ip": "10.244.2.5", "ports": {"http": 8080}}]}],
}


def changed(path: str, value: Any) -> dict[str, Any]:
    made = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target: Any = made
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return made


def test_a_good_network_passes() -> None:
    assert netcheck.check(GOOD) == GOOD


@pytest.mark.parametrize(("path", "value", "named"), [
    ("podCIDR", "10.244.1.5/24", "network.podCIDR"),
    ("dnsIP", "10.96.0.10; flush ruleset", "network.dnsIP"),
    ("routes.0.via", "node-2.example", "network.routes[0].via"),
    ("services.0.name", "web; flush ruleset", "network.services[0].name"),
    ("services.0.ports.0.port", 70000, "network.services[0].ports[0].port"),
    ("services.0.ports.0.protocol", "SCTP", "network.services[0].ports[0].protocol"),
    ("services.0.endpoints.0.ports", {"http": "8080"}, "network.services[0].endpoints[0]"),
    ("services.0.affinitySeconds", 0, "network.services[0].affinitySeconds"),
], ids=["host-bits", "injection-address", "route-name", "injection-name", "port-range",
        "protocol", "port-type", "affinity"])
def test_bad_values_are_refused_naming_the_field(path: str, value: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        netcheck.check(changed(path, value))


def test_the_agent_answers_a_bad_network_as_a_permanent_failure(tmp_path: Any) -> None:
    answer = handler.handle({"op": "observe", "cluster": "c", "node": "n",
                             "runtime": {"kind": "sim"}, "state_dir": str(tmp_path),
                             "network": changed("podCIDR", "nonsense")})

    assert answer["ok"] is False and answer["permanent"] is True
    assert "network.podCIDR 'nonsense' is not an IPv4 network" in answer["error"]
