"""What a node's status means to a reader: kubectl's words for it, and what is wrong with it.

``gitkube get nodes``, ``describe node``, ``status`` and root cause read a Node through
these, so a node is "NotReady,SchedulingDisabled" or "unreachable" in the same words
everywhere. Pure: a typed ``node.Node`` in, text out.
"""

from __future__ import annotations

from gitkube.api import node as nodes

ROLE_PREFIX = "node-role.kubernetes.io/"


def ready_word(node: nodes.Node) -> str:
    """Ready, NotReady or Unknown, from the node's Ready condition."""
    condition = node.status.condition("Ready")
    if condition is None:
        return "Unknown"
    return "Ready" if condition.status == "True" else "NotReady"


def status_word(node: nodes.Node) -> str:
    """kubectl's STATUS column: readiness, and SchedulingDisabled when cordoned."""
    word = ready_word(node)
    return word + ",SchedulingDisabled" if node.spec.unschedulable else word


def roles(node: nodes.Node) -> list[str]:
    """The roles its ``node-role.kubernetes.io/<role>`` labels give it, sorted."""
    return sorted(k.removeprefix(ROLE_PREFIX) for k in node.metadata.labels
                  if k.startswith(ROLE_PREFIX))


def internal_ip(node: nodes.Node) -> str | None:
    return next((a.address for a in node.status.addresses if a.type == "InternalIP"), None)


def resource(node: nodes.Node, name: str) -> str | None:
    """What the node offers pods of a resource: allocatable, else capacity."""
    return node.status.allocatable.get(name) or node.status.capacity.get(name)


def problem(node: nodes.Node | None, name: str) -> str | None:
    """Why pods on this node cannot be ready (gone, unreachable, not ready); None when fine."""
    if node is None:
        return f"node {name} is not in the inventory any more"
    ready = node.status.condition("Ready")
    if ready is None or ready.status == "True":
        return None
    said = ready.message or ready.reason or ""
    state = "unreachable" if ready.status == "Unknown" else "not ready"
    return f"node {name} is {state}" + (f" ({said})" if said else "")
