"""SSHTransport against real OpenSSH sshds on loopback, one per simulated node."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.nodes import ssh
from tests.fixtures.nodes import LoopbackNode, NodeFactory

pytestmark = pytest.mark.ssh


@pytest.fixture(scope="module")
def node(ssh_nodes: NodeFactory) -> LoopbackNode:
    return ssh_nodes(1, prefix="ssh")[0]


@pytest.fixture(scope="module")
def remote(node: LoopbackNode) -> Iterator[ssh.SSHTransport]:
    transport = ssh.SSHTransport(node)
    yield transport
    transport.close()


def test_run_feeds_stdin_and_keeps_both_outputs(remote: ssh.SSHTransport) -> None:
    result = remote.run(["sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"], stdin=b"hello")

    assert (result.exit_code, result.stdout, result.stderr) == (3, b"HELLO", b"oops\n")


def test_arguments_reach_the_node_unexpanded(remote: ssh.SSHTransport) -> None:
    result = remote.run(["printf", "%s|", "$HOME", "a b", "it's", ";true"])

    assert result.stdout == b"$HOME|a b|it's|;true|"


def test_big_outputs_on_both_streams_do_not_deadlock(remote: ssh.SSHTransport) -> None:
    script = "head -c 5000000 /dev/zero | tr '\\0' o; head -c 3000000 /dev/zero | tr '\\0' e >&2"
    big_input = b"i" * 4_000_000

    result = remote.run(["sh", "-c", f"cat >/dev/null; {script}"], stdin=big_input, timeout=60)

    assert result.ok
    assert (len(result.stdout), len(result.stderr)) == (5_000_000, 3_000_000)


def test_one_connection_serves_many_commands_at_once(remote: ssh.SSHTransport) -> None:
    # More at once than sshd's default MaxSessions: the transport queues what does not fit.
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda i: remote.run(["echo", str(i)]), range(48)))

    assert [r.stdout for r in results] == [f"{i}\n".encode() for i in range(48)]


def test_a_command_that_writes_before_reading_its_input(remote: ssh.SSHTransport) -> None:
    result = remote.run(
        ["sh", "-c", "head -c 4000000 /dev/zero; wc -c"], stdin=b"x" * 4_000_000, timeout=60
    )

    assert len(result.stdout) == 4_000_000 + len(b"4000000\n")
    assert result.stdout.endswith(b"4000000\n")


def test_put_streams_a_file_makes_parents_and_sets_the_mode(
    remote: ssh.SSHTransport, node: LoopbackNode, tmp_path: Path
) -> None:
    source = tmp_path / "payload.bin"
    source.write_bytes(bytes(range(256)) * 8192)
    target = node.home / "deep" / "er" / "payload.bin"

    remote.put(source, str(target), mode=0o600)
    remote.put(b"#!/bin/sh\necho from-put\n", str(node.home / "deep" / "run.sh"), mode=0o755)

    assert target.read_bytes() == source.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o600
    assert remote.run([str(node.home / "deep" / "run.sh")]).stdout == b"from-put\n"
    checksum = remote.run(["sha256sum", str(target)]).stdout.split()[0].decode()
    assert checksum == hashlib.sha256(source.read_bytes()).hexdigest()


def test_a_hung_command_times_out_and_the_connection_stays_usable(
    remote: ssh.SSHTransport,
) -> None:
    started = time.monotonic()
    with pytest.raises(errors.NodeUnreachable, match=r"did not finish `sleep 30` within 1 s"):
        remote.run(["sleep", "30"], timeout=1)

    assert time.monotonic() - started < 15
    assert remote.run(["echo", "still here"]).stdout == b"still here\n"


def test_an_unknown_host_key_is_refused(node: LoopbackNode, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.touch()
    stranger = node.model_copy(
        update={"ssh": node.ssh.model_copy(update={"known_hosts": str(empty)})}
    )

    with pytest.raises(errors.HostKeyRejected) as caught:
        ssh.SSHTransport(stranger).run(["true"])

    message = str(caught.value)
    assert f"Node ssh-1 ({node.address} port {node.ssh.port})" in message
    assert f"ssh-keyscan -p {node.ssh.port} {node.address} >> {empty}" in message
    assert empty.read_text() == ""


def test_a_changed_host_key_is_refused(node: LoopbackNode, tmp_path: Path) -> None:
    other = (node.sshd.directory.parent / "client_ed25519_key.pub").read_text().split()
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[{node.address}]:{node.ssh.port} {other[0]} {other[1]}\n")
    liar = node.model_copy(update={"ssh": node.ssh.model_copy(update={"known_hosts": str(forged)})})

    with pytest.raises(errors.HostKeyRejected, match=r"ssh-keygen -R") as caught:
        ssh.SSHTransport(liar).run(["true"])

    assert "expects SHA256:" in str(caught.value)


def test_an_unknown_host_key_is_remembered_when_the_inventory_allows(
    node: LoopbackNode, tmp_path: Path
) -> None:
    fresh = tmp_path / "sub" / "known_hosts"
    trusting = node.model_copy(
        update={
            "ssh": node.ssh.model_copy(
                update={"known_hosts": str(fresh), "accept_unknown_host_keys": True}
            )
        }
    )

    with ssh.SSHTransport(trusting) as first:
        assert first.run(["true"]).ok
    public = (node.sshd.directory / "host_ed25519_key.pub").read_text().split()
    assert fresh.read_text() == f"[{node.address}]:{node.ssh.port} {public[0]} {public[1]}\n"

    # Remembered: the same file now lets a refusing transport in.
    remembered = trusting.model_copy(
        update={"ssh": trusting.ssh.model_copy(update={"accept_unknown_host_keys": False})}
    )
    with ssh.SSHTransport(remembered) as second:
        assert second.run(["echo", "ok"]).stdout == b"ok\n"


def test_a_node_that_is_down_is_unreachable_then_comes_back(ssh_nodes: NodeFactory) -> None:
    (flaky,) = ssh_nodes(1, prefix="flaky")
    transport = ssh.SSHTransport(flaky)
    assert transport.run(["true"]).ok

    flaky.stop()
    with pytest.raises(errors.NodeUnreachable, match=r"Node flaky-1 \(127\.0\.1\.\d+ port \d+\)"):
        transport.run(["true"])
    flaky.start()

    assert transport.run(["echo", "back"]).stdout == b"back\n"
    transport.close()
