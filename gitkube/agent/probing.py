"""Running one probe against one container: exec, httpGet, tcpSocket or grpc, as kubelet does.

``exec`` runs the command in the container (the runtime's ``exec_in``) and passes on exit
code 0. ``httpGet`` passes on a status from 200 to 399, ``tcpSocket`` when a
connection opens, ``grpc`` when the health service answers SERVING
(``grpc_health.py``); all three talk to the pod from inside its own network namespace,
so ``127.0.0.1:<port>`` reaches the container exactly as its neighbours would,
and no traffic leaves the machine. That is done by a short-lived child
(``python3 -m <agent> probe``) that enters the namespace (``setns``) before it
connects; where it may not (an unprivileged user), it connects to the pod's IP
from the node instead, as kubelet does. Every probe is bounded by its
``timeoutSeconds``.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import grpc_health, protocol

CLONE_NEWNET = 0x40000000
#: The agent's own package (``gitkube.agent`` here, ``gitkube_agent`` on nodes).
PACKAGE = __name__.rpartition(".")[0]
#: Kubernetes reads at most this much of a probe's output.
MAX_OUTPUT = 10 * 1024


def package_root() -> str:
    """The directory to put on PYTHONPATH so ``python3 -m PACKAGE`` finds this agent."""
    return str(Path(__file__).resolve().parents[PACKAGE.count(".") + 1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = package_root()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_network_probe(probe: protocol.ProbeRun, pid: int, pod_ip: str) -> tuple[bool, str]:
    """An httpGet, tcpSocket or grpc probe, from inside the network namespace of ``pid``."""
    timeout = int(probe.get("timeoutSeconds", 1))
    request = json.dumps({"probe": probe, "pid": pid, "podIP": pod_ip})
    try:
        done = subprocess.run(
            [sys.executable, "-m", PACKAGE, "probe"], input=request, capture_output=True,
            text=True, timeout=timeout + 2, env=child_env(), check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"timeout: no answer within {timeout} s"
    output = (done.stdout or done.stderr).strip()[-MAX_OUTPUT:]
    return done.returncode == 0, output


def probe_child(request: dict[str, Any]) -> int:
    """The child's side: enter the namespace, probe, exit 0 on success (1 otherwise)."""
    probe: protocol.ProbeRun = request["probe"]
    host = probe.get("host") or ""
    if not host:
        host = "127.0.0.1" if _enter_netns(int(request.get("pid", 0))) else str(
            request.get("podIP") or "127.0.0.1")
    port = int(probe.get("port", 0))
    timeout = float(probe.get("timeoutSeconds", 1))
    if probe.get("handler") == "grpc":
        ok, output = grpc_health.check(host, port, probe.get("service", ""), timeout)
        print(output)
        return 0 if ok else 1
    try:
        if probe.get("handler") == "tcpSocket":
            with socket.create_connection((host, port), timeout=timeout):
                pass
            print(f"connected to {host}:{port}")
            return 0
        return _http_get(probe, host, port, timeout)
    except (OSError, http.client.HTTPException) as exc:
        print(f"{probe.get('handler')} {host}:{port} failed: {exc}")
        return 1


def _http_get(probe: protocol.ProbeRun, host: str, port: int, timeout: float) -> int:
    connection: http.client.HTTPConnection
    if probe.get("scheme") == "HTTPS":
        # kubelet does not verify the certificate of a probed container.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"User-Agent": "kube-probe/gitkube", "Accept": "*/*"}
    headers.update({h["name"]: h["value"] for h in probe.get("httpHeaders", [])})
    try:
        connection.request("GET", probe.get("path") or "/", headers=headers)
        response = connection.getresponse()
        body = response.read(MAX_OUTPUT).decode(errors="replace")
    finally:
        connection.close()
    print(f"HTTP {response.status} {body[:200]}".strip())
    return 0 if 200 <= response.status < 400 else 1


def _enter_netns(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except OSError:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.setns(fd, CLONE_NEWNET)) == 0
    finally:
        os.close(fd)
