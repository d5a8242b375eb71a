"""The rules of ``inventory.yaml`` beyond field types, with the path of each field they concern.

``registry.parse_inventory`` runs them after the model has read the file, as it runs a
kind's ``check()`` for a manifest; the source layer turns each path into
``inventory.yaml:line``. What the inventory names ends up in places where a wrong value
does harm — a cluster or node name in paths and podman names on the node, an address and a
user in an SSH connection, ``ssh.python`` at the start of a command line — so each value is
held to the rule Kubernetes has for the same thing (a Node's name is a DNS subdomain, its
labels and taints follow the label rules, capacity is a non-negative quantity) or, where
Kubernetes has none, to what a host name, an IP address or a login name can be.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitkube.api import errors, names, quantities, validation

if TYPE_CHECKING:
    from gitkube.api.inventory import Inventory, InventoryNode

_HOST_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?")
#: POSIX's portable login names (useradd's default rule), which never begin with ``-``.
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}\$?")
#: A command name or path for ``ssh.python``: it starts the agent's command line on the node.
_COMMAND = re.compile(r"[A-Za-z0-9_./~+][A-Za-z0-9_./+-]*")
_CAPACITY = ("cpu", "memory", "pods", "ephemeral-storage")
_WHOLE = ("pods",)


def check_inventory(inventory: Inventory, entries: Sequence[int]) -> list[errors.FieldIssue]:
    """Every problem of ``inventory``; ``entries[i]`` is the entry node ``i`` came from (a
    ``count`` entry stands for many nodes), so that a path points at the lines written."""
    issues = [errors.FieldIssue("cluster", f"Invalid value: {inventory.cluster!r}: {p}")
              for p in names.dns1123_label_errors(inventory.cluster)]
    first: dict[str, int] = {}
    reported: dict[int, set[str]] = {}
    for node, entry in zip(inventory.nodes, entries, strict=True):
        path = f"nodes[{entry}]"
        if node.name in first:
            issues.append(errors.FieldIssue(f"{path}.name", (
                f"Duplicate value: {node.name!r}: nodes[{first[node.name]}] has this name; "
                "node names must be unique")))
        first.setdefault(node.name, entry)
        found = check_node(node, path)
        # The nodes of one ``count`` entry share their faults: the first node's are enough.
        seen = reported.setdefault(entry, set())
        issues += [issue for issue in found if issue.path not in seen]
        seen.update(issue.path for issue in found)
    return issues


def check_node(node: InventoryNode, path: str) -> list[errors.FieldIssue]:
    issues = [errors.FieldIssue(f"{path}.name", f"Invalid value: {node.name!r}: {p}")
              for p in names.dns1123_subdomain_errors(node.name)]
    issues += [errors.FieldIssue(f"{path}.address", p) for p in address_errors(node.address)]
    if not _USER.fullmatch(node.ssh.user):
        issues.append(errors.FieldIssue(f"{path}.ssh.user", (
            f"{node.ssh.user!r} is not a login name (letters, digits, '.', '_' and '-', "
            "not starting with '-' or a digit, at most 32 characters)")))
    if not _COMMAND.fullmatch(node.ssh.python):
        issues.append(errors.FieldIssue(f"{path}.ssh.python", (
            f"{node.ssh.python!r} is not a command name or path (such as python3 or "
            "/usr/bin/python3)")))
    issues += validation.check_labels(f"{path}.labels", node.labels)
    for i, taint in enumerate(node.taints):
        where = f"{path}.taints[{i}]"
        issues += [errors.FieldIssue(f"{where}.key", p)
                   for p in names.qualified_name_errors(taint.key)]
        if taint.value is not None:
            issues += [errors.FieldIssue(f"{where}.value", p)
                       for p in names.label_value_errors(taint.value)]
    for resource, value in node.capacity.items():
        issues += _capacity_errors(resource, value, errors.child(f"{path}.capacity", resource))
    return issues


def address_errors(address: str) -> list[str]:
    """Why ``address`` is neither a host name (RFC 1123) nor an IP address (empty if it is)."""
    try:
        ipaddress.ip_address(address)
        return []
    except ValueError:
        pass
    labels = address.removesuffix(".").split(".")
    if len(address) <= names.SUBDOMAIN_MAX and all(_HOST_LABEL.fullmatch(x) for x in labels):
        return []
    return [f"{address!r} is neither a host name (letters, digits, '-' and '.', such as "
            "node-1.example.com) nor an IP address"]


def _capacity_errors(resource: str, value: str, path: str) -> list[errors.FieldIssue]:
    if resource not in _CAPACITY and not ("/" in resource and not names.qualified_name_errors(
            resource)):
        return [errors.FieldIssue(path, (
            f"resource {resource!r} is not a node resource gitkube knows (cpu, memory, pods, "
            "ephemeral-storage, or an extended resource such as example.com/dongle)"))]
    amount = quantities.parse_quantity(value)
    if amount < 0:
        return [errors.FieldIssue(path, f"must be greater than or equal to 0, not {value!r}")]
    if (resource in _WHOLE or "/" in resource) and amount != amount.to_integral_value():
        return [errors.FieldIssue(path, f"must be a whole number, not {value!r}")]
    return []
