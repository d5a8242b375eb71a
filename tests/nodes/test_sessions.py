"""Agent sessions: one long-lived command per node, a JSON line in and a line out.

The transports' sessions are tested against a line-echoing shell (local, and over real
sshd); the client's against the real agent, including an agent that died between two
requests (a node rebooted, an OOM kill): the next request starts it again.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.api.inventory import InventoryNode, RuntimeSettings
from gitkube.nodes import client as node_client
from gitkube.nodes import local, ssh
from tests.fixtures.nodes import LoopbackNode, NodeFactory
from tests.processes import agent_sessions

#: Answers each line in upper case; "die" ends it with a word on stderr, "hang" never answers.
ECHO = ["sh", "-c", 'while read -r l; do case "$l" in die) echo bye >&2; exit 4;; '
        'hang) sleep 30;; *) echo "$l" | tr a-z A-Z;; esac; done']


def test_a_local_session_answers_line_after_line_in_one_process() -> None:
    session = local.LocalTransport("here").open_session(
        ["sh", "-c", 'while read -r l; do echo "$l $$"; done'])
    try:
        first = session.exchange(b"one\n", timeout=5)
        second = session.exchange(b"two\n", timeout=5)
    finally:
        session.close()
    assert first.split()[0] == b"one" and second.split()[0] == b"two"
    assert first.split()[1] == second.split()[1], "both answered by the same process"


def test_a_local_session_that_ends_says_so_with_its_stderr() -> None:
    session = local.LocalTransport("here").open_session(ECHO)
    assert session.exchange(b"hi\n", timeout=5) == b"HI"

    with pytest.raises(errors.SessionLost) as lost:
        session.exchange(b"die\n", timeout=5)

    assert lost.value.exit_code == 4
    assert "ended (exit code 4) before it answered; its stderr says:\n  bye" in str(lost.value)


def test_a_local_session_that_hangs_is_killed_at_its_timeout() -> None:
    session = local.LocalTransport("here").open_session(ECHO)
    began = time.monotonic()

    with pytest.raises(errors.NodeUnreachable, match=r"did not answer .* within 0.5 s"):
        session.exchange(b"hang\n", timeout=0.5)

    assert time.monotonic() - began < 5


@pytest.fixture(scope="module")
def node(ssh_nodes: NodeFactory) -> LoopbackNode:
    return ssh_nodes(1, prefix="sess")[0]


@pytest.mark.ssh
def test_ssh_sessions_answer_and_give_their_channel_back(node: LoopbackNode) -> None:
    remote = ssh.SSHTransport(node)
    try:
        # More sessions, one after another, than a connection has channels.
        for round_ in range(ssh.MAX_CHANNELS + 2):
            session = remote.open_session(ECHO)
            assert session.exchange(f"round {round_}\n".encode(), timeout=10) == (
                f"ROUND {round_}".encode())
            session.close()
        session = remote.open_session(ECHO)
        with pytest.raises(errors.SessionLost) as lost:
            session.exchange(b"die\n", timeout=10)
        assert lost.value.exit_code == 4
        assert "its stderr says:\n  bye" in str(lost.value)
    finally:
        remote.close()


@pytest.mark.ssh
def test_an_ssh_session_that_hangs_is_given_up_at_its_timeout(node: LoopbackNode) -> None:
    remote = ssh.SSHTransport(node)
    try:
        session = remote.open_session(ECHO)
        with pytest.raises(errors.NodeUnreachable, match=r"within 0.5 s"):
            session.exchange(b"hang\n", timeout=0.5)
        # The connection is still good for the next command.
        assert remote.run(["echo", "fine"], timeout=10).stdout == b"fine\n"
    finally:
        remote.close()


def test_a_client_keeps_one_agent_and_starts_it_again_when_it_died(tmp_path: Path) -> None:
    node = InventoryNode(name="here", transport="local", runtime=RuntimeSettings(kind="sim"),
                         state_dir=str(tmp_path))
    others = set(agent_sessions())  # sessions of other tests' clients, not closed yet
    client = node_client.NodeClient(node_client.connect(node), node, "unit")
    try:
        client.request("info")
        client.request("observe")
        (agent,) = set(agent_sessions()) - others

        os.kill(agent, signal.SIGKILL)  # our own child: as if the node had rebooted
        answer = client.request("observe")

        assert answer["report"]["node"] == "here"
        (again,) = set(agent_sessions()) - others
        assert again != agent
    finally:
        client.close()
    assert set(agent_sessions()) - others == set(), "close ends the agent"


def test_a_kept_fleet_follows_inventory_changes(tmp_path: Path) -> None:
    """``gitkube serve`` keeps its fleet across passes: a node moved in inventory.yaml (here,
    its state directory) is reached as the new inventory says, not through the old session."""
    from gitkube.api.inventory import Inventory
    from gitkube.reconcile import fleet as fleet_mod

    def inventory(state: Path) -> Inventory:
        return Inventory(cluster="kept", nodes=[InventoryNode(
            name="here", transport="local", state_dir=str(state),
            runtime=RuntimeSettings(kind="sim"))])

    run = {"uid": "u1", "name": "web", "namespace": "default", "hash": "h",
           "containers": [{"name": "main", "image": "busybox"}]}
    others = set(agent_sessions())
    with fleet_mod.Fleet(inventory(tmp_path / "a")) as fleet:
        first = fleet.converge({"here": [run]}, {})  # type: ignore[list-item]
        (agent,) = set(agent_sessions()) - others
        fleet.use(inventory(tmp_path / "b"))
        second = fleet.converge({"here": [run]}, {})  # type: ignore[list-item]
        (moved,) = set(agent_sessions()) - others
    assert not first.errors and not second.errors
    assert moved != agent, "the old node's session was closed, a new one started"
    assert (tmp_path / "a" / "sim.json").exists() and (tmp_path / "b" / "sim.json").exists()
    assert set(agent_sessions()) - others == set()
