"""inventory.yaml's rules: each bad value refused at validate with inventory.yaml:line.

A node's name, address, user and interpreter end up in paths, podman names and SSH command
lines on the machines; a bad one must stop the revision, never reach a node.
"""

from __future__ import annotations

import pytest

from gitkube.source import manifests, yamlload

HEAD = "apiVersion: gitkube.io/v1alpha1\nkind: Inventory\ncluster: lab\nnodes:\n"
NAME_RULE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
             "'-' or '.', and must start and end with an alphanumeric character (e.g. "
             "'example.com', regex used for validation is "
             r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
NOT_AN_ADDRESS = ("is neither a host name (letters, digits, '-' and '.', such as "
                  "node-1.example.com) nor an IP address")
KEY_RULE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
            "and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc', "
            "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")

CASES = [
    ("duplicate-node-names", "  - {name: vm}\n  - {name: db}\n  - {name: vm}\n",
     "inventory.yaml:7: nodes[2].name: Duplicate value: 'vm': nodes[0] has this name; node "
     "names must be unique."),
    ("upper-case-node-name", "  - name: Node-1\n",
     f"inventory.yaml:5: nodes[0].name: Invalid value: 'Node-1': {NAME_RULE}."),
    ("path-as-node-name", "  - name: ../../evil\n",
     f"inventory.yaml:5: nodes[0].name: Invalid value: '../../evil': {NAME_RULE}."),
    ("shell-in-address", "  - name: vm\n    address: '127.0.0.1; touch x'\n",
     f"inventory.yaml:6: nodes[0].address: '127.0.0.1; touch x' {NOT_AN_ADDRESS}."),
    ("option-as-address", "  - name: vm\n    address: -oProxyCommand=touch x\n",
     f"inventory.yaml:6: nodes[0].address: '-oProxyCommand=touch x' {NOT_AN_ADDRESS}."),
    ("option-as-user", "  - name: vm\n    ssh: {user: -oProxyCommand=x}\n",
     "inventory.yaml:6: nodes[0].ssh.user: '-oProxyCommand=x' is not a login name (letters, "
     "digits, '.', '_' and '-', not starting with '-' or a digit, at most 32 characters)."),
    ("shell-as-python", "  - name: vm\n    ssh:\n      python: python3; rm -rf /\n",
     "inventory.yaml:7: nodes[0].ssh.python: 'python3; rm -rf /' is not a command name or "
     "path (such as python3 or /usr/bin/python3)."),
    ("negative-memory", "  - name: vm\n    capacity:\n      memory: -8Gi\n",
     "inventory.yaml:7: nodes[0].capacity.memory: must be greater than or equal to 0, not "
     "'-8Gi'."),
    ("negative-cpu", "  - name: vm\n    capacity: {cpu: -1}\n",
     "inventory.yaml:6: nodes[0].capacity.cpu: must be greater than or equal to 0, not '-1'."),
    ("fractional-pods", "  - name: vm\n    capacity: {pods: 1.5}\n",
     "inventory.yaml:6: nodes[0].capacity.pods: must be a whole number, not '1.5'."),
    ("nonsense-capacity", "  - name: vm\n    capacity: {cpu: lots}\n",
     "inventory.yaml:6: nodes[0].capacity.cpu: 'lots' is not a Kubernetes quantity (expected a "
     "number with an optional suffix such as 500m, 128Mi, 1G)."),
    ("unknown-resource", "  - name: vm\n    capacity: {gpus: 2}\n",
     "inventory.yaml:6: nodes[0].capacity.gpus: resource 'gpus' is not a node resource gitkube "
     "knows (cpu, memory, pods, ephemeral-storage, or an extended resource such as "
     "example.com/dongle)."),
    ("label-key", "  - name: vm\n    labels:\n      disk type: ssd\n",
     f"inventory.yaml:7: nodes[0].labels[disk type]: key 'disk type': {KEY_RULE}."),
    ("label-value", "  - name: vm\n    labels: {disk: 'ssd; x'}\n",
     "inventory.yaml:6: nodes[0].labels.disk: value 'ssd; x': a valid label must be an empty "
     "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
     "with an alphanumeric character (e.g. 'MyValue', 'my_value' or '12345', regex used for "
     "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')."),
    ("taint-key", "  - name: vm\n    taints: [{key: a b, effect: NoSchedule}]\n",
     f"inventory.yaml:6: nodes[0].taints[0].key: {KEY_RULE}."),
    ("grace-period-infinite", "  - {name: vm}\nsettings: {nodeGracePeriodSeconds: .inf}\n",
     "inventory.yaml:6: settings.nodeGracePeriodSeconds: must be less than or equal to "
     "1000000000.0, not inf."),
    ("templated-sim-names-checked", "  - {name: 'Sim-{i}', transport: sim, count: 3}\n",
     f"inventory.yaml:5: nodes[0].name: Invalid value: 'Sim-0': {NAME_RULE}."),
]


@pytest.mark.parametrize(("nodes", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_inventories_are_refused_with_their_line(nodes: str, expected: str) -> None:
    docs = yamlload.load_documents(HEAD + nodes, "inventory.yaml")
    inventory, problems = manifests.validate_inventory(docs)
    assert inventory is None
    assert [str(p) for p in problems] == [expected]


@pytest.mark.parametrize("cluster", ["../../evil", "Lab", "a" * 64, "lab.example"])
def test_the_cluster_name_is_a_dns_label(cluster: str) -> None:
    text = HEAD.replace("cluster: lab", f"cluster: {cluster}") + "  - {name: vm}\n"
    _, problems = manifests.validate_inventory(yamlload.load_documents(text, "inventory.yaml"))
    assert [(p.line, p.field) for p in problems] == [(3, "cluster")] * len(problems)
    assert problems and problems[0].message.startswith(f"Invalid value: {cluster!r}: ")


def test_a_good_inventory_passes() -> None:
    text = HEAD + (
        "  - name: node-1.lab\n    address: node-1.example.com\n"
        "    ssh: {user: deploy, python: /usr/bin/python3}\n"
        "    labels: {topology.kubernetes.io/zone: a}\n"
        "    taints: [{key: dedicated, value: gpu, effect: NoSchedule}]\n"
        "    capacity: {cpu: '4', memory: 8Gi, pods: 110, example.com/dongle: 2}\n"
        "  - {name: node-2, address: '::1'}\n  - {name: node-3, address: 10.0.0.3}\n"
        "  - {name: 'sim-{i:02d}', transport: sim, count: 2}\n")
    inventory, problems = manifests.validate_inventory(
        yamlload.load_documents(text, "inventory.yaml"))
    assert problems == []
    assert inventory is not None
    assert [n.name for n in inventory.nodes] == ["node-1.lab", "node-2", "node-3", "sim-00",
                                                 "sim-01"]
