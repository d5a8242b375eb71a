"""Run the node agent: ``python3 -m gitkube.agent`` (``-m gitkube_agent`` once shipped).

Reads one JSON request from stdin, writes one JSON response to stdout and
exits 0; the control plane reads every failure from the response. An
unexpected exception is answered as a (temporary) failure too, with its
traceback on stderr for whoever debugs the node. Two more entry points are the
agent's own: ``supervise [--detach] STATE_DIR`` (the node-resident supervisor) and
``probe`` (one network probe, run in a child that enters the pod's namespace).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from . import handler, probing, supervisor


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["supervise"]:
        # The node-resident supervisor (see supervisor.py), started by the agent itself.
        if args[1:2] == ["--detach"]:
            return supervisor.detach(Path(args[2]))
        return supervisor.serve(Path(args[1]))
    if args[:1] == ["probe"]:
        return probing.probe_child(json.loads(sys.stdin.read()))
    response: dict[str, Any]
    try:
        request = json.loads(sys.stdin.read())
    except ValueError as exc:
        response = {
            "ok": False,
            "error": f"The agent's stdin is not JSON: {exc}.",
            "permanent": True,
        }
    else:
        try:
            response = handler.handle(request)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            response = {
                "ok": False,
                "error": f"The agent failed unexpectedly ({type(exc).__name__}: {exc}); "
                "its traceback is on the node's stderr.",
                "permanent": False,
            }
    json.dump(response, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
