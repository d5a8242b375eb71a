"""Record real podman output for the parser tests: ``cd tests && python -m agent.record_podman``.

Runs a mix of pods (running, completed, failed, crash-looping, waiting for an
image, several containers, another namespace) through the agent in a throwaway
storage, waits for them to settle, and saves what podman printed into
``tests/agent/data/``. The parser tests assert on these files, so re-recording
means re-checking those assertions.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from gitkube.agent import handler
from gitkube.agent.runtimes import podman_report

from . import storage

DATA = Path(__file__).parent / "data"
CLUSTER = "rec"


def pods(image: str) -> list[dict[str, object]]:
    def pod(
        uid: str, name: str, policy: str, *containers: dict[str, object], namespace: str = "default"
    ) -> dict[str, object]:
        return {
            "uid": uid,
            "name": name,
            "namespace": namespace,
            "hash": f"hash-{uid}",
            "owner": "ReplicaSet/rec",
            "restartPolicy": policy,
            "terminationGracePeriodSeconds": 0,
            "containers": list(containers),
        }

    def run(name: str, *command: str, **extra: object) -> dict[str, object]:
        return {"name": name, "image": image, "command": list(command), **extra}

    return [
        pod(
            "uid-web",
            "web",
            "Always",
            run("httpd", "httpd", "-f", "-p", "8080"),
            run("sidecar", "sleep", "1000"),
        ),
        pod("uid-done", "done", "OnFailure", run("main", "sh", "-c", "exit 0")),
        pod(
            "uid-failed",
            "failed",
            "Never",
            run("ok", "sh", "-c", "exit 0"),
            run("bad", "sh", "-c", "exit 3"),
            namespace="batch",
        ),
        pod("uid-crash", "crash", "Always", run("loop", "sh", "-c", "exit 2")),
        pod(
            "uid-noimage",
            "noimage",
            "Always",
            {"name": "c", "image": "localhost/absent:1", "imagePullPolicy": "Never"},
        ),
    ]


def main() -> None:
    made = storage.create_storage()
    try:
        made.podman("run", "-d", "--name", "not-gitkube", made.image, "sleep", "1000")
        with tempfile.TemporaryDirectory() as state_dir:
            request = {
                "op": "converge",
                "cluster": CLUSTER,
                "node": "rec",
                "runtime": made.runtime(Path(state_dir)),
                "pods": pods(made.image),
            }
            answer = handler.handle(request)
            assert answer["ok"], answer
        time.sleep(5)
        label = f"label=io.gitkube.cluster={CLUSTER}"
        ps = made.podman("ps", "-a", "--format", "json", "--filter", label).stdout
        (DATA / "ps.json").write_text(ps)
        (DATA / "ps_all.json").write_text(made.podman("ps", "-a", "--format", "json").stdout)
        ids = [entry["Id"] for entry in json.loads(ps)]
        inspect = made.podman("inspect", "--format", podman_report.INSPECT_TEMPLATE, *ids).stdout
        (DATA / "inspect.txt").write_text(inspect)
        (DATA / "images.json").write_text(made.podman("images", "--format", "json").stdout)
        running = made.podman("ps", "-q", "--filter", label).stdout.split()
        stats = made.podman("stats", "--no-stream", "--format", "json", *running).stdout
        (DATA / "stats.json").write_text(stats)
    finally:
        made.destroy()


if __name__ == "__main__":
    main()
