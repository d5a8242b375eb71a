"""Reaching nodes: transports (local, SSH), the agent client, and image shipping.

``connect(node)`` gives a ``Transport`` for an inventory node; ``NodeClient``
ships the agent over it and speaks the agent's JSON protocol; ``images`` moves
container images to nodes without a registry.
"""
