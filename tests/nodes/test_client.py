"""NodeClient: the agent shipped once per version, and answers read as the protocol says."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.api.inventory import InventoryNode, RuntimeSettings
from gitkube.nodes import client as node_client
from gitkube.nodes import local, ssh, transport
from tests.fixtures.nodes import LoopbackNode, NodeFactory


@pytest.fixture(scope="module")
def node(ssh_nodes: NodeFactory) -> LoopbackNode:
    return ssh_nodes(1, prefix="agent")[0]


def test_connect_picks_the_transport_the_inventory_names() -> None:
    here = node_client.connect(InventoryNode(name="here", transport="local"))
    there = node_client.connect(InventoryNode(name="there", address="127.0.0.1"))

    assert isinstance(here, local.LocalTransport)
    assert isinstance(there, ssh.SSHTransport)
    assert (here.node, there.node) == ("here", "there")


def test_a_local_node_runs_the_installed_agent(tmp_path: Path) -> None:
    node = InventoryNode(
        name="here", transport="local", runtime=RuntimeSettings(kind="sim"), state_dir=str(tmp_path)
    )
    client = node_client.NodeClient(node_client.connect(node), node, "unit")

    answer = client.request("info")

    assert answer["ok"] is True
    assert answer["report"]["node"] == "here"
    assert answer["report"]["facts"]["runtime"] == "sim"
    assert client.shipments == 0
    client.close()


class _KilledAgent(local.LocalTransport):
    """This machine, where whatever gitkube starts is killed by SIGKILL at once."""

    def run(self, argv: Sequence[str], *, stdin: bytes = b"", timeout: float = 60.0
            ) -> transport.Result:
        return super().run(["sh", "-c", "kill -9 $$"], stdin=stdin, timeout=timeout)


def test_a_killed_local_agent_is_told_without_talking_about_ssh() -> None:
    node = InventoryNode(name="here", transport="local", runtime=RuntimeSettings(kind="sim"))
    client = node_client.NodeClient(_KilledAgent("here"), node, "unit", sessions=False)

    with pytest.raises(errors.AgentError) as caught:
        client.request("observe")

    assert str(caught.value) == (
        "Node here: the agent was killed by signal 9 without answering `observe` in its "
        "protocol; it wrote nothing on stderr. Something on this machine stopped it; the next "
        "pass starts it again.")
    assert "ssh" not in str(caught.value).lower()


@pytest.mark.ssh
@pytest.mark.podman
def test_the_agent_is_shipped_once_and_answers_over_ssh(node: LoopbackNode) -> None:
    bundle = node_client.agent_bundle()
    first = node_client.NodeClient(ssh.SSHTransport(node), node, "unit")

    facts = first.request("info")["report"]["facts"]
    again = first.request("info")["report"]["facts"]

    assert facts["runtime"] == "podman"
    assert again["hostname"] == facts["hostname"]
    assert first.shipments == 1
    shipped = node.home / ".gitkube" / "agent" / bundle.digest / "gitkube_agent"
    assert sorted(p.name for p in shipped.glob("*.py")) == sorted(
        name for name, _ in bundle.files if "/" not in name
    )
    # Sub-packages (the runtimes) travel too, in their directories.
    assert sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*.py")) == sorted(
        name for name, _ in bundle.files
    )
    assert "runtimes/base.py" in dict(bundle.files)
    assert [p.name for p in shipped.parent.parent.iterdir()] == [bundle.digest]
    first.close()

    # The next pass finds the same version on the node and copies nothing.
    second = node_client.NodeClient(ssh.SSHTransport(node), node, "unit")
    assert second.request("info")["report"]["facts"]["runtime"] == "podman"
    assert second.shipments == 0
    second.close()


@pytest.mark.ssh
def test_the_agent_refusing_a_request_is_an_error_naming_the_node(node: LoopbackNode) -> None:
    client = node_client.NodeClient(ssh.SSHTransport(node), node, "unit")

    with pytest.raises(errors.AgentError, match=r"^Node agent-1: Unknown op 'reboot'"):
        client.request("reboot")
    client.close()


@pytest.mark.ssh
def test_an_answer_that_is_not_json_shows_the_agents_stderr(node: LoopbackNode) -> None:
    node_client.NodeClient(ssh.SSHTransport(node), node, "unit").request("info")  # shipped
    wrong = node.model_copy(update={"ssh": node.ssh.model_copy(update={"python": "sh"})})
    client = node_client.NodeClient(ssh.SSHTransport(wrong), wrong, "unit")

    with pytest.raises(errors.AgentError) as caught:
        client.request("info")

    message = str(caught.value)
    assert message.startswith("Node agent-1: the agent ended with exit code 2 without answering "
                              "`info` in its protocol; its stderr says:\n  sh: 0: cannot open "
                              "gitkube_agent")
    assert message.endswith("Check that ssh.python in inventory.yaml names a Python 3 on the "
                            "node.")
    client.close()


@pytest.mark.ssh
def test_a_node_without_the_named_python_cannot_take_the_agent(ssh_nodes: NodeFactory) -> None:
    (bare,) = ssh_nodes(1, prefix="bare")
    wrong = bare.model_copy(update={"ssh": bare.ssh.model_copy(update={"python": "python9"})})
    client = node_client.NodeClient(ssh.SSHTransport(wrong), wrong, "unit")

    with pytest.raises(errors.AgentError, match=r"Node bare-1 could not install the agent") as e:
        client.request("info")

    assert "ssh.python" in str(e.value)
    assert list((bare.home / ".gitkube" / "agent").iterdir()) == []
    client.close()


def test_the_state_dir_defaults_under_the_nodes_home() -> None:
    node = InventoryNode(name="n1", transport="local")
    client = node_client.NodeClient(local.LocalTransport("n1"), node, "homelab")

    assert client.state_dir() == str(Path.home() / ".gitkube" / "homelab" / "n1")
    assert client.runtime_config() == {"kind": "podman", "state_dir": client.state_dir()}
