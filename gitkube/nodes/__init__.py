"""Reaching nodes: the transports, the agent client, and image shipping.

    transport.py  the Transport and Session protocols (run, put, open_session) and Result
    local.py      this machine: subprocesses, no shell (``transport: local``)
    ssh.py        a node over SSH (paramiko): one connection per node, commands on channels
    hostkeys.py   SSH host keys checked against known_hosts, refused or remembered
    channels.py   SSH channels: kept sessions, bounded reads, the sends paramiko lacks
    inprocess.py  a simulated node (``transport: sim``): the agent called in this process
    client.py     ``connect(node)`` → a Transport; NodeClient ships the agent and speaks
                  its JSON protocol
    images.py     container images moved to nodes without a registry

Below ``reconcile`` (whose fleet uses it); it imports ``api`` and the agent's package
(shipped, or called in-process), never the planners.
"""
