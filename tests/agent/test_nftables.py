"""kube-proxy's rules as nftables renders them: which endpoints get traffic, and how a Service
without any is answered. Pure: a NetworkRun in, the ``nft -f`` script out (the namespace-node
tests run these scripts for real)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitkube.agent import netprotocol, nftables

SERVICE_CIDR_NET: dict[str, Any] = {
    "podCIDR": "10.244.1.0/24", "clusterCIDR": "10.244.0.0/16", "serviceCIDR": "10.96.0.0/12"}


def ep(ip: str, node: str = "n1", *, ready: bool = True, serving: bool | None = None,
       terminating: bool = False, uid: str = "") -> netprotocol.EndpointRun:
    return netprotocol.EndpointRun(ip=ip, ports={"http": 8080}, node=node, ready=ready,
                                serving=ready if serving is None else serving,
                                terminating=terminating, podUID=uid or f"uid-{ip}")


def render(endpoints: list[netprotocol.EndpointRun], *, withheld: tuple[str, ...] = (),
           existing: nftables.Existing | None = None, **service: Any) -> str:
    svc: dict[str, Any] = {"name": "web", "namespace": "default", "clusterIP": "10.96.0.20",
                           "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
                           "endpoints": endpoints, **service}
    network: dict[str, Any] = {**SERVICE_CIDR_NET, "services": [svc]}
    return nftables.render(network, "c", "n1", gateway="10.244.1.1",  # type: ignore[arg-type]
                           existing=existing, withheld=withheld)


def rules_of(script: str, prefix: str) -> list[str]:
    """The rules of the chains whose names start with ``prefix``, in order."""
    return [line.split(" ", 5)[5] for line in script.splitlines()
            if line.startswith("add rule ") and line.split(" ")[4].startswith(prefix)]


def dnat_targets(script: str) -> set[str]:
    return {line.rsplit(" ", 1)[1] for line in script.splitlines() if " dnat to " in line
            and "-default/" not in line and ":53" not in line}


@pytest.mark.parametrize(("endpoints", "withheld", "expected"), [
    ([ep("10.244.1.5"), ep("10.244.2.5", "n2")], (), {"10.244.1.5:8080", "10.244.2.5:8080"}),
    ([ep("10.244.1.5"), ep("10.244.2.5", "n2", ready=False)], (), {"10.244.1.5:8080"}),
    # No endpoint ready: those serving while they terminate still answer (kube-proxy's rule).
    ([ep("10.244.1.5", ready=False, serving=True, terminating=True),
      ep("10.244.2.5", "n2", ready=False, serving=False, terminating=True)], (),
     {"10.244.1.5:8080"}),
    ([ep("10.244.1.5"), ep("10.244.2.5", "n2")], ("uid-10.244.1.5",), {"10.244.2.5:8080"}),
], ids=["all-ready", "not-ready-left-out", "terminating-fallback", "withheld-by-supervisor"])
def test_traffic_goes_to_usable_endpoints(endpoints: list[netprotocol.EndpointRun],
                                          withheld: tuple[str, ...], expected: set[str]) -> None:
    assert dnat_targets(render(endpoints, withheld=withheld)) == expected


def test_several_endpoints_are_spread_at_random_and_one_is_jumped_to() -> None:
    two = render([ep("10.244.1.5"), ep("10.244.2.5", "n2")])
    one = render([ep("10.244.1.5")])

    assert "numgen random mod 2 vmap { 0 : goto ep-" in two
    assert "numgen" not in one


@pytest.mark.parametrize(("endpoints", "policy", "verdict"), [
    ([], "Cluster", "10.96.0.20 . tcp . 80 : goto reject-chain"),
    ([ep("10.244.2.5", "n2", ready=False)], "Cluster", "10.96.0.20 . tcp . 80 : goto reject-chain"),
    # Endpoints exist, only not on this node, and the policy keeps to it: dropped, not refused.
    ([ep("10.244.2.5", "n2")], "Local", "10.96.0.20 . tcp . 80 : drop"),
], ids=["no-endpoints", "none-ready", "local-policy-elsewhere"])
def test_a_service_without_usable_endpoints(endpoints: list[netprotocol.EndpointRun], policy: str,
                                            verdict: str) -> None:
    script = render(endpoints, internalTrafficPolicy=policy)

    assert f"add element ip gitkube-c no-endpoint-services {{ {verdict} }}" in script
    assert "service-ips { 10.96.0.20" not in script


def test_internal_local_policy_keeps_to_this_nodes_endpoints() -> None:
    script = render([ep("10.244.1.5"), ep("10.244.2.5", "n2")], internalTrafficPolicy="Local")

    assert rules_of(script, "svc-")[-1].startswith("goto loc-")


def test_external_local_policy_keeps_the_client_address_and_local_endpoints() -> None:
    script = render([ep("10.244.2.5", "n2")], type="NodePort", externalTrafficPolicy="Local",
                    ports=[{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}])
    ext = rules_of(script, "ext-")

    # Pods and the node itself: every endpoint; a client from outside: only this node's,
    # and this node has none.
    assert ext[0].startswith("ip saddr 10.244.0.0/16 goto all-")
    assert ext[-1] == "drop"
    assert "tcp . 30080 : goto ext-" in script


def test_client_ip_affinity_remembers_the_client_per_endpoint() -> None:
    script = render([ep("10.244.1.5"), ep("10.244.2.5", "n2")], sessionAffinity="ClientIP",
                    affinitySeconds=600)

    assert script.count("flags dynamic,timeout; timeout 600s;") == 2
    assert script.count("update @affinity-") == 2
    assert script.count("ip saddr @affinity-") == 2


def test_nodeports_answer_on_the_given_addresses_or_every_local_one() -> None:
    given = nftables.render({**SERVICE_CIDR_NET, "nodeAddresses": ["198.18.0.11"]},  # type: ignore[typeddict-item]
                            "c", "n1", gateway="10.244.1.1")
    every = nftables.render(SERVICE_CIDR_NET, "c", "n1", gateway="10.244.1.1")  # type: ignore[arg-type]

    assert "add element ip gitkube-c nodeport-ips { 198.18.0.11 }" in given
    assert "ip daddr @nodeport-ips meta l4proto" in given
    assert "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto" in every


def test_pod_addresses_are_kept_and_leaving_the_cluster_is_masqueraded() -> None:
    script = render([])

    assert ("masquerading ip saddr 10.244.0.0/16 ip daddr 10.244.0.0/16 snat to ip saddr"
            in script)
    assert "masquerading ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 masquerade" in script


def test_the_cluster_dns_address_goes_to_the_nodes_own_server() -> None:
    script = nftables.render({**SERVICE_CIDR_NET, "dnsIP": "10.96.0.10"},  # type: ignore[typeddict-item]
                             "c", "n1", gateway="10.244.1.1")

    assert "dns meta l4proto { tcp, udp } dnat to 10.244.1.1:53" in script
    assert "10.96.0.10 . udp . 53 : goto dns" in script


def test_a_second_transaction_empties_what_exists_and_keeps_wanted_affinity_sets() -> None:
    first = render([ep("10.244.1.5")], sessionAffinity="ClientIP")
    affinity = next(line.split()[4] for line in first.splitlines()
                    if line.startswith("add set ip gitkube-c affinity-"))
    existing = nftables.Existing(chains={"services", "ep-gone"},
                                 sets={affinity, "affinity-gone", "nodeport-ips"},
                                 maps={"service-ips"})

    again = render([ep("10.244.1.5")], sessionAffinity="ClientIP", existing=existing)
    lines = again.splitlines()

    assert lines.index("flush chain ip gitkube-c ep-gone") < lines.index(
        "delete chain ip gitkube-c ep-gone")
    assert "flush map ip gitkube-c service-ips" in lines
    assert "delete set ip gitkube-c affinity-gone" in lines
    assert f"delete set ip gitkube-c {affinity}" not in lines
    assert f"flush set ip gitkube-c {affinity}" not in lines
    assert "delete chain ip gitkube-c services" not in lines


def test_parse_listing_names_the_tables_objects() -> None:
    listing = {"nftables": [{"metainfo": {}}, {"table": {"name": "gitkube-c"}},
                            {"chain": {"name": "services"}}, {"set": {"name": "nodeport-ips"}},
                            {"map": {"name": "service-ips"}}, {"rule": {"chain": "services"}}]}

    found = nftables.parse_listing(json.dumps(listing))

    assert (found.chains, found.sets, found.maps) == ({"services"}, {"nodeport-ips"},
                                                      {"service-ips"})
