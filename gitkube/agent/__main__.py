"""Run the node agent: ``python3 -m gitkube.agent`` (``-m gitkube_agent`` once shipped).

Reads one JSON request from stdin, writes one JSON response to stdout and
exits 0; the control plane reads every failure from the response. An
unexpected exception is answered as a (temporary) failure too, with its
traceback on stderr for whoever debugs the node.

``session`` keeps the agent for many requests: one JSON request per line in,
one JSON response per line out, until stdin ends. ``gitkube serve`` holds one
session per node, so a pass pays no interpreter start-up and no imports on the
node (about a tenth of a second a request). Two more entry points are the agent's
own: ``supervise STATE_DIR`` (the node-resident supervisor), ``dns STATE_DIR``
(the node's cluster DNS server) and ``probe`` (one network probe, run in a child that
enters the pod's namespace).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from . import dnsserver, handler, probing, supervisor


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == [supervisor.COMMAND]:
        # The node-resident supervisor (see supervisor.py), started by the agent itself.
        return supervisor.serve(Path(args[1]))
    if args[:1] == ["dns"]:
        # The node's cluster DNS server (see dnsserver.py), started by the agent itself.
        return dnsserver.serve(Path(args[1]))
    if args[:1] == ["probe"]:
        return probing.probe_child(json.loads(sys.stdin.read()))
    if args[:1] == ["session"]:
        return session()
    _send(answer(sys.stdin.read()))
    return 0


def session() -> int:
    """Answer requests, a line each, until stdin closes (the control plane went away).

    What an answer does not wait for (starting the supervisor) runs after it is sent,
    before the next request is read."""
    for line in sys.stdin:
        if line.strip():
            later: handler.Later = []
            _send(answer(line, later))
            for work in later:
                try:
                    work()
                except Exception:
                    traceback.print_exc(file=sys.stderr)
                    sys.stderr.flush()
    return 0


def answer(text: str, later: handler.Later | None = None) -> dict[str, Any]:
    """The response to one request given as JSON text; never raises."""
    try:
        request = json.loads(text)
    except ValueError as exc:
        return {"ok": False, "error": f"The agent's stdin is not JSON: {exc}.",
                "permanent": True}
    try:
        return handler.handle(request, later=later)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        return {
            "ok": False,
            "error": f"The agent failed unexpectedly ({type(exc).__name__}: {exc}); "
            "its traceback is on the node's stderr.",
            "permanent": False,
        }


def _send(response: dict[str, Any]) -> None:
    # One line: json.dumps escapes every newline inside strings.
    sys.stdout.write(json.dumps(response) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
