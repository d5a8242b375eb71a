"""Security contexts and DNS on the node, as kubelet checks and composes them.

Pure functions (standard library only, like the whole agent) that every runtime uses; each
runtime maps the result onto its own flags (podman's in ``runtimes/podman_args.py``). A
runtime asks the image's configured user when ``needs_image_user`` says it matters, then:

- ``non_root_problem`` is verifyRunAsNonRoot: with runAsNonRoot, a runAsUser of 0, an
  image that runs as root (no user, or uid 0) or as a user name (which cannot be
  verified) refuses the container with CreateContainerConfigError and kubelet's words;
- ``resolver`` merges a dnsConfig into the node's resolv.conf (``read_host_resolv``) as
  kubelet does for the Default policy (nameservers and searches appended without
  duplicates, options by name), or takes it alone for policy None. ClusterFirst with a
  cluster DNS is kubelet's: the cluster DNS address, ``<ns>.svc.<domain> svc.<domain>
  <domain>`` before the node's search list, ``ndots:5``, then the dnsConfig merged the same
  way; without a cluster DNS it is Default (kubelet's fallback).
"""

from __future__ import annotations

from pathlib import Path

from . import protocol

#: Kubernetes' resolv.conf limits (kubelet trims what the node adds beyond them).
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
_HOST_RESOLV = Path("/etc/resolv.conf")
#: Where systemd-resolved keeps the real upstream servers (its stub listens on loopback).
_RESOLVED_RESOLV = Path("/run/systemd/resolve/resolv.conf")
#: (cluster DNS address, cluster domain, the pod's namespace).
ClusterDNS = tuple[str, str, str]


def needs_image_user(security: protocol.SecurityRun) -> bool:
    """Whether the image's configured user matters: runAsNonRoot to verify, or a group
    given without a user (the image's user runs with that group)."""
    if "runAsUser" in security:
        return False
    return bool(security.get("runAsNonRoot")) or "runAsGroup" in security


def non_root_problem(security: protocol.SecurityRun, image_user: str, pod: str,
                     container: str) -> str | None:
    """kubelet's verifyRunAsNonRoot; ``pod`` is how kubelet names it (``name_ns(uid)``)."""
    if not security.get("runAsNonRoot"):
        return None
    if "runAsUser" in security:
        if int(security["runAsUser"]) == 0:
            return (f"container's runAsUser breaks non-root policy (pod: \"{pod}\", "
                    f"container: {container})")
        return None
    user = image_user.split(":", 1)[0]
    if user and not user.isdigit():
        return (f"container has runAsNonRoot and image has non-numeric user ({user}), cannot "
                f"verify user is non-root (pod: \"{pod}\", container: {container})")
    if not user or int(user) == 0:
        return (f"container has runAsNonRoot and image will run as root (pod: \"{pod}\", "
                f"container: {container})")
    return None


def read_host_resolv() -> str:
    """The node's resolv.conf as containers should see it (systemd-resolved's upstreams)."""
    try:
        text = _HOST_RESOLV.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if "127.0.0.53" in text and _RESOLVED_RESOLV.is_file():
        return _RESOLVED_RESOLV.read_text(encoding="utf-8", errors="replace")
    return text


def parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, searches, options) of a resolv.conf; the last search/domain line wins."""
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            nameservers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            searches = fields[1:]
        elif fields[0] == "options":
            options += fields[1:]
    return nameservers, searches, options


def resolver(dns: protocol.DNSRun, host_text: str, cluster: ClusterDNS | None = None
             ) -> tuple[list[str], list[str], list[str]]:
    """The pod's (nameservers, searches, options), as kubelet composes them; ``cluster`` is
    (cluster DNS address, cluster domain, the pod's namespace) when the node has one."""
    extra_options = dns.get("options", [])
    if dns.get("policy") == "None":
        return (dns.get("nameservers", [])[:MAX_NAMESERVERS],
                dns.get("searches", [])[:MAX_SEARCHES], list(extra_options))
    nameservers, searches, options = parse_resolv(host_text)
    if dns.get("policy") == "ClusterFirst" and cluster is not None:
        address, domain, namespace = cluster
        nameservers = [address]
        searches = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain, *searches]
        options = ["ndots:5"]
    else:
        # A loopback resolver of the node is unreachable from the pod's network namespace.
        nameservers = [n for n in nameservers if not n.startswith("127.") and n != "::1"]
    nameservers = _unique([*nameservers, *dns.get("nameservers", [])])[:MAX_NAMESERVERS]
    searches = _unique([*searches, *dns.get("searches", [])])[:MAX_SEARCHES]
    overridden = {o.split(":", 1)[0] for o in extra_options}
    merged = [o for o in options if o.split(":", 1)[0] not in overridden] + list(extra_options)
    return nameservers, searches, merged


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
