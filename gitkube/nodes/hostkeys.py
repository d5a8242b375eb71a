"""Host keys of SSH nodes: checked against known_hosts, refused or remembered, and the
sentences that say what to do when a key is unknown or changed.

Part of the SSH transport (``ssh.py`` connects with ``policy``): an unknown key is
refused (``HostKeyRejected``) unless the node says ``acceptUnknownHostKeys: true``,
in which case it is appended to known_hosts, trust on first use.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
from pathlib import Path

import paramiko


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's way of showing a key: ``SHA256:`` and unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"{hostname} is not in known_hosts")
        self.key = key


class RefusePolicy(paramiko.MissingHostKeyPolicy):
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise UnknownHostKey(hostname, key)


class RememberPolicy(paramiko.MissingHostKeyPolicy):
    """Trust on first use: accept the key and append it to known_hosts for next time."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        # Appending (not rewriting) keeps the file's comments and hashed entries; the lock
        # keeps parallel first connections from interleaving their lines.
        with self.known_hosts.open("a", encoding="ascii") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            out.write(line)


def policy(known_hosts: Path, *, accept_unknown: bool) -> paramiko.MissingHostKeyPolicy:
    return RememberPolicy(known_hosts) if accept_unknown else RefusePolicy()


def _host_entry(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def _scan_hint(address: str, port: int, known_hosts: Path) -> str:
    return f"`ssh-keyscan -p {port} {address} >> {known_hosts}`"


def unknown_key_message(where: str, address: str, port: int, known_hosts: Path,
                        key: paramiko.PKey) -> str:
    return (
        f"Node {where} offered the {key.get_name()} host key {fingerprint(key)}, which "
        f"is not in {known_hosts}; gitkube refuses unknown host keys. If this is the "
        f"right machine, add its key with {_scan_hint(address, port, known_hosts)}, or set "
        "ssh.acceptUnknownHostKeys: true for this node in inventory.yaml."
    )


def changed_key_message(where: str, address: str, port: int, known_hosts: Path,
                        exc: paramiko.BadHostKeyException) -> str:
    return (
        f"Node {where} offered the host key {fingerprint(exc.key)}, but "
        f"{known_hosts} expects {fingerprint(exc.expected_key)}: the machine was "
        "reinstalled, or something is in between. If the change is expected, remove the old "
        f"entry with `ssh-keygen -R '{_host_entry(address, port)}' -f {known_hosts}` and add "
        f"the new one with {_scan_hint(address, port, known_hosts)}."
    )
