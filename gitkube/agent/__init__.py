"""gitkube's node agent: standard library only, shipped to nodes as a standalone package.

Run as ``python3 -m gitkube.agent`` here, or ``python3 -m gitkube_agent`` on a
node; it reads one JSON request (``protocol.Request``) and answers one JSON
response. ``handler.handle`` is the same thing in-process.
"""
