"""The command line: ``gitkube plan / apply / reconcile / get / describe / status / init``.

The top of the stack and its thinnest layer: ``main`` parses arguments and calls the
public library API (``gitkube.reconcile.engine.Cluster``); the ``render*`` and ``tables`` modules
turn what comes back into text. Nothing here decides what the cluster should do.
"""
