"""The standard CNI plugins, called as a container runtime calls them (CNI 0.4.0).

The containerd runtime puts a pod's network namespace on the node's cluster network
with the ``containernetworking-plugins`` Debian ships (``/usr/lib/cni``): ``bridge``
with ``host-local`` IPAM gives the pod an address on the node's ``podCIDR`` behind the
bridge whose address is the subnet's gateway (what ``network.py`` routes to and where
the node's DNS answers, as on a podman node), and ``portmap`` publishes the pod's
``hostPort``s. Each plugin is one process: the
operation and the namespace in ``CNI_*`` variables, its configuration as JSON on stdin,
its result as JSON on stdout; a chain hands each plugin the previous result and is
deleted in reverse order.

``conflist`` is pure; the network's configuration is written by ``pod_network`` into the
agent's state directory, so a node's pods keep their network between agent runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .. import protocol
from . import base

VERSION = "0.4.0"
#: Where Debian's package (first) and the upstream tarball put the plugins.
BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")


def bridge_name(network: str) -> str:
    """The bridge of a network: ``cni-`` and a digest (15 characters at most, as Linux
    wants; the prefix keeps it out of the node's own addresses, as podman's bridges)."""
    return "cni-" + hashlib.sha256(network.encode()).hexdigest()[:10]


def conflist(network: str, subnet: str, gateway: str, data_dir: str) -> dict[str, Any]:
    """The cluster network of a node: a bridge on ``subnet``, ``gateway`` its address."""
    return {"cniVersion": VERSION, "name": network, "plugins": [
        {"type": "bridge", "bridge": bridge_name(network), "isGateway": True, "ipMasq": True,
         "hairpinMode": True,
         "ipam": {"type": "host-local", "dataDir": data_dir,
                  "ranges": [[{"subnet": subnet, "gateway": gateway}]],
                  "routes": [{"dst": "0.0.0.0/0"}]}},
        {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
    ]}


def port_mappings(pod: protocol.PodRun) -> list[dict[str, Any]]:
    """The pod's hostPorts as portmap's ``runtimeConfig.portMappings``."""
    out = []
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        for port in container.get("ports", []):
            if port.get("hostPort"):
                out.append({"hostPort": port["hostPort"],
                            "containerPort": port.get("containerPort", port["hostPort"]),
                            "protocol": port.get("protocol", "TCP").lower(),
                            **({"hostIP": port["hostIP"]} if port.get("hostIP") else {})})
    return out


def bin_dir(configured: str = "") -> str:
    for candidate in ([configured] if configured else list(BIN_DIRS)):
        if Path(candidate, "bridge").exists():
            return candidate
    searched = configured or " or ".join(BIN_DIRS)
    raise base.RuntimeFailure(
        f"The CNI plugins are not installed (no bridge plugin in {searched}); "
        "install containernetworking-plugins on the node.", permanent=True)


def add(chain: dict[str, Any], cid: str, netns: str, plugins: str, *,
        mappings: list[dict[str, Any]] | None = None) -> str:
    """Attach ``netns`` to the network of ``chain``; answers the pod's IPv4 address."""
    result: dict[str, Any] | None = None
    for plugin in chain["plugins"]:
        result = _call("ADD", plugin, chain, cid, netns, plugins, result, mappings)
    for ip in (result or {}).get("ips", []):
        address = str(ip.get("address", "")).split("/")[0]
        if address and ipaddress.ip_address(address).version == 4:
            return address
    return ""


def delete(chain: dict[str, Any], cid: str, netns: str, plugins: str, *,
           mappings: list[dict[str, Any]] | None = None) -> None:
    """Detach (release the address, the port mappings); a plugin that fails is skipped:
    removal goes on and a later one finds nothing to do."""
    for plugin in reversed(chain["plugins"]):
        with contextlib.suppress(base.RuntimeFailure):
            _call("DEL", plugin, chain, cid, netns, plugins, None, mappings)


def _call(command: str, plugin: dict[str, Any], chain: dict[str, Any], cid: str, netns: str,
          plugins: str, previous: dict[str, Any] | None,
          mappings: list[dict[str, Any]] | None) -> dict[str, Any]:
    conf = {**plugin, "cniVersion": chain["cniVersion"], "name": chain["name"]}
    if previous is not None:
        conf["prevResult"] = previous
    if plugin.get("capabilities", {}).get("portMappings"):
        conf["runtimeConfig"] = {"portMappings": mappings or []}
    env = {**os.environ, "CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_NETNS": netns,
           "CNI_IFNAME": "eth0", "CNI_PATH": plugins}
    executable = shutil.which(str(plugin["type"]), path=plugins)
    if executable is None:
        raise base.RuntimeFailure(f"The CNI plugin {plugin['type']} is not in {plugins}; "
                                  "install containernetworking-plugins on the node.",
                                  permanent=True)
    done = subprocess.run([executable], input=json.dumps(conf), capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    if done.returncode != 0:
        try:
            said = json.loads(done.stdout)
            why = f"{said.get('msg', '')} {said.get('details', '')}".strip()
        except ValueError:
            why = (done.stderr or done.stdout).strip()[-400:]
        raise base.RuntimeFailure(f"CNI {plugin['type']} {command} failed for {cid}: {why}")
    if not done.stdout.strip():
        return previous or {}
    answer = json.loads(done.stdout)
    return answer if isinstance(answer, dict) else {}
