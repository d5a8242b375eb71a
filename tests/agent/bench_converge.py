"""Converge speed against raw podman: ``cd tests && python -m agent.bench_converge [N ...]``.

For each N, in a throwaway storage: time N times (``podman pod create`` + ``podman
run -d``) run one after the other, as a person would script it; remove them;
then time one agent converge of the same N pods (fresh node), one no-op
converge, and one observe. Prints the ratio agent/raw (the goal is ≤ 1.3).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gitkube.agent import handler

from . import storage


def main(counts: list[int]) -> None:
    made = storage.create_storage()
    try:
        for count in counts:
            bench(made, count)
    finally:
        made.destroy()


def bench(made: storage.Storage, count: int) -> None:
    start = time.perf_counter()
    for index in range(count):
        made.podman("pod", "create", "--name", f"raw-{index}", "--label", "bench=raw")
        made.podman(
            "run",
            "-d",
            "--pod",
            f"raw-{index}",
            "--name",
            f"raw-{index}-main",
            made.image,
            "sleep",
            "1000",
        )
    raw = time.perf_counter() - start
    made.podman("pod", "rm", "-af", "-t", "0")

    pods: list[dict[str, Any]] = [
        {
            "uid": f"uid-{i}",
            "name": f"bench-{i}",
            "namespace": "default",
            "hash": "h",
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": made.image,
                    "command": ["sleep", "1000"],
                    "env": {"MODE": "bench"},
                }
            ],
        }
        for i in range(count)
    ]
    with tempfile.TemporaryDirectory() as state_dir:
        base = {"cluster": "bench", "node": "n1", "runtime": made.runtime(Path(state_dir))}
        timings = {}
        for label, payload in (("converge", pods), ("no-op converge", pods)):
            start = time.perf_counter()
            answer = handler.handle({**base, "op": "converge", "pods": payload})
            timings[label] = time.perf_counter() - start
            assert answer["ok"] and len(answer["report"]["pods"]) == count, answer
        start = time.perf_counter()
        handler.handle({**base, "op": "observe"})
        timings["observe"] = time.perf_counter() - start
        start = time.perf_counter()
        handler.handle({**base, "op": "converge", "pods": []})
        timings["remove all"] = time.perf_counter() - start
    print(
        f"{count} pods: raw podman {raw:.2f} s; "
        + "; ".join(f"{label} {seconds:.2f} s" for label, seconds in timings.items())
        + f"; converge/raw = {timings['converge'] / raw:.2f}"
    )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10, 30])
