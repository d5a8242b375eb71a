"""The cluster's DNS records, from the node's ``NetworkRun``: Kubernetes' DNS specification.

Pure: ``Zone(network, withheld)`` holds every record under ``clusterDomain`` and ``lookup``
answers a question about it, or says None for names outside it (the server forwards those to
the node's own resolvers). What the zone holds, as CoreDNS's kubernetes plugin serves it:

- ``<svc>.<ns>.svc.<domain>``: A, the cluster IP; for a headless Service the addresses of its
  ready endpoints; for an ExternalName Service a CNAME to its ``externalName``;
- ``_<port>._<proto>.<svc>.<ns>.svc.<domain>``: SRV for every named port: the Service name
  and port, or, headless, one per ready endpoint (target ``<host>.<svc>...``, with its A in
  the additional section);
- ``<host>.<svc>.<ns>.svc.<domain>``: A of a headless Service's endpoint, ``host`` being the
  pod's hostname when its subdomain names the Service, else its address with dashes;
- ``<a-b-c-d>.<ns>.pod.<domain>``: A, the address in the name (CoreDNS's "pods insecure").

A name that exists with no record of the asked type answers NOERROR and no records (NODATA),
a name that does not exist NXDOMAIN; both carry the zone's SOA. Records live ``TTL`` seconds
(CoreDNS's default), so a changed endpoint reaches clients' caches within that.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, cast

from . import dnswire, netprotocol
from .dnswire import Answer, Record

TTL = 5
_POD_NAME = re.compile(r"(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})\.[a-z0-9-]+\.pod\.")


class Zone:
    """The records of one cluster domain."""

    def __init__(self, network: netprotocol.NetworkRun, withheld: frozenset[str] = frozenset()
                 ) -> None:
        self.domain = (network.get("clusterDomain") or "cluster.local").lower().strip(".")
        self.records: dict[str, list[Record]] = {}
        self.names: set[str] = {self.domain, f"svc.{self.domain}", f"pod.{self.domain}"}
        for service in network.get("services", []):
            self._add_service(service, withheld)
        soa = (f"ns.dns.{self.domain}", f"hostmaster.{self.domain}", 1, 7200, 1800, 86400, TTL)
        self.soa = Record(self.domain, dnswire.SOA, TTL, soa)

    def _add(self, name: str, rtype: int, data: object) -> None:
        record = Record(name, rtype, TTL, data)
        existing = self.records.setdefault(name, [])
        if record not in existing:
            existing.append(record)
        while name != self.domain and name.endswith(self.domain):
            self.names.add(name)
            name = name.split(".", 1)[1]

    def _add_service(self, service: netprotocol.ServiceRun, withheld: frozenset[str]) -> None:
        base = f"{service.get('name', '')}.{service.get('namespace', 'default')}.svc." \
               f"{self.domain}".lower()
        if service.get("type") == "ExternalName":
            if service.get("externalName"):
                self._add(base, dnswire.CNAME, service["externalName"].lower().strip("."))
            return
        ports = service.get("ports", [])
        if service.get("clusterIP"):
            self._add(base, dnswire.A, service["clusterIP"])
            for port in ports:
                if port.get("name"):
                    self._add(_srv_name(port, base), dnswire.SRV, (0, 100, port["port"], base))
            return
        self.names.add(base)
        for endpoint in service.get("endpoints", []):
            if not endpoint.get("ready") or endpoint.get("podUID") in withheld:
                continue
            host = f"{endpoint.get('hostname') or endpoint['ip'].replace('.', '-')}.{base}"
            self._add(base, dnswire.A, endpoint["ip"])
            self._add(host, dnswire.A, endpoint["ip"])
        for port in ports:
            name = port.get("name")
            if not name:
                continue
            targets = [ep for ep in service.get("endpoints", [])
                       if ep.get("ready") and ep.get("podUID") not in withheld
                       and name in ep.get("ports", {})]
            for endpoint in targets:
                host = f"{endpoint.get('hostname') or endpoint['ip'].replace('.', '-')}.{base}"
                weight = max(1, 100 // len(targets))
                self._add(_srv_name(port, base), dnswire.SRV,
                          (0, weight, endpoint["ports"][name], host))

    def owns(self, name: str) -> bool:
        return name == self.domain or name.endswith(f".{self.domain}")

    def lookup(self, name: str, qtype: int) -> Answer | None:
        """The answer about ``name`` (lower case, no trailing dot); None: not this zone's."""
        if not self.owns(name):
            return None
        found = self.records.get(name, [])
        cname = [r for r in found if r.rtype == dnswire.CNAME]
        if cname:
            return Answer(answers=cname)
        matching = [r for r in found if qtype in (r.rtype, dnswire.ANY)]
        if not found and name not in self.names:
            pod = _pod_address(name, self.domain)
            if pod is None:
                return Answer(rcode=dnswire.NXDOMAIN, authority=[self.soa])
            found = [Record(name, dnswire.A, TTL, pod)]
            matching = [r for r in found if qtype in (dnswire.A, dnswire.ANY)]
        if not matching:
            return Answer(authority=[self.soa])
        extra = [a for r in matching if r.rtype == dnswire.SRV
                 for a in self.records.get(r.data[3], [])
                 if a.rtype == dnswire.A]
        return Answer(answers=matching, additional=extra)


def _srv_name(port: netprotocol.ServicePortRun, base: str) -> str:
    return f"_{port['name']}._{port.get('protocol', 'TCP').lower()}.{base}".lower()


def _pod_address(name: str, domain: str) -> str | None:
    match = _POD_NAME.fullmatch(f"{name[:len(name) - len(domain)]}")
    if match is None:
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(match.groups())))
    except ValueError:
        return None


def from_state(record: dict[str, Any]) -> Zone | None:
    """The zone of ``network.json`` (``network.read_state``), None when it holds none."""
    network = record.get("network")
    if not isinstance(network, dict):
        return None
    withheld = record.get("withheld")
    hidden = frozenset(str(u) for u in withheld) if isinstance(withheld, list) else frozenset()
    return Zone(cast(netprotocol.NetworkRun, network), hidden)
