"""``gitkube describe pod`` shows the effective security context, hooks and DNS settings."""

from __future__ import annotations

from gitkube.api import registry
from gitkube.cli import describe
from tests.cli import objects as o


def test_describe_shows_security_context_hooks_and_dns() -> None:
    pod = registry.from_stored({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "safe", "namespace": "default",
                     "creationTimestamp": "2026-01-01T11:55:00Z"},
        "spec": {
            "nodeName": "node-1",
            "securityContext": {"runAsUser": 1000, "runAsNonRoot": True, "fsGroup": 2000,
                                "seccompProfile": {"type": "RuntimeDefault"},
                                "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
            "dnsPolicy": "None",
            "dnsConfig": {"nameservers": ["192.0.2.1"], "options": [{"name": "ndots",
                                                                    "value": "2"}]},
            "containers": [{
                "name": "web", "image": "busybox:1",
                "securityContext": {"runAsUser": 2000, "readOnlyRootFilesystem": True,
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}},
                              "postStart": {"exec": {"command": ["sh", "-c", "true"]}}},
            }],
        },
        "status": {"phase": "Running", "containerStatuses": [o.running()]},
    })
    lines = describe.describe_pod(pod, o.NOW)
    assert "Security Context: fsGroup=2000, net.ipv4.tcp_syncookies=1" in lines
    assert "DNS:             None; nameservers 192.0.2.1; options ndots:2" in lines
    assert ("    Security:    runAsUser=2000, runAsNonRoot=true, seccomp=RuntimeDefault, "
            "readOnlyRootFilesystem=true, allowPrivilegeEscalation=false, "
            "capabilities=drop ALL") in lines
    assert "    PostStart:   exec sh -c true" in lines
    assert "    PreStop:     sleep 5s" in lines
