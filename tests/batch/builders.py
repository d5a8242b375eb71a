"""Builders for batch planner tests: Jobs, CronJobs, their pods, and a store-in-a-dict world.

``World`` holds objects with mod revisions like the store does, applies a planner's
store actions the way ``apply`` would (every write bumps the revision), and moves
pods to Running / Succeeded / Failed as an agent report would, on a fake clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from gitkube import clock as clocks
from gitkube.api import batch, core, podstate
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.planning import objects
from gitkube.planning.actions import Action, ActionKind
from gitkube.planning.snapshot import Snapshot, Stored

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
Planner = Callable[[Snapshot, clocks.Clock], list[Action]]


def at(seconds: float, start: dt.datetime = START) -> str:
    return clocks.format_time(start + dt.timedelta(seconds=seconds))


def pod_template(command: str = "true", restart: str = "Never") -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "batch"}},
            "spec": {"restartPolicy": restart,
                     "containers": [{"name": "main", "image": "busybox:1",
                                     "command": ["sh", "-c", command]}]}}


def job_spec(**spec: Any) -> dict[str, Any]:
    restart = spec.pop("restart", "Never")
    return {"template": pod_template(restart=restart), **spec}


def job(name: str = "pi", *, uid: str | None = None, created: float = 0,
        source: str | None = "jobs.yaml:1", annotations: dict[str, str] | None = None,
        status: dict[str, Any] | None = None, owner: KubeObject | None = None,
        **spec: Any) -> batch.Job:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": uid or f"uid-{name}",
                            "creationTimestamp": at(created), "generation": 1,
                            "annotations": dict(annotations or {})}
    if source:
        meta["annotations"][SOURCE_ANNOTATION] = source
    if owner is not None:
        meta["ownerReferences"] = [objects.owner_reference(owner).to_dict()]
    return batch.Job.model_validate({"metadata": meta, "spec": job_spec(**spec),
                                     "status": status or {}})


def cronjob(name: str = "tick", schedule: str = "* * * * *", *, created: float = 0,
            start: dt.datetime = START, status: dict[str, Any] | None = None,
            job: dict[str, Any] | None = None, **spec: Any) -> batch.CronJob:
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}",
            "creationTimestamp": at(created, start), "generation": 1,
            "annotations": {SOURCE_ANNOTATION: "cron.yaml:1"}}
    body = {"schedule": schedule, "jobTemplate": {"spec": job_spec(**(job or {}))}, **spec}
    return batch.CronJob.model_validate({"metadata": meta, "spec": body,
                                         "status": status or {}})


class World:
    """The store as a dict of ``Stored``, written by planners' actions."""

    def __init__(self, *objs: KubeObject, clock: clocks.FakeClock | None = None) -> None:
        self.revision = 0
        self.objects: dict[str, Stored] = {}
        self.clock = clock or clocks.FakeClock(START)
        for obj in objs:
            self.put(obj)

    def put(self, obj: KubeObject) -> None:
        self.revision += 1
        self.objects[obj.key] = Stored(obj, self.revision)

    def snapshot(self) -> Snapshot:
        return Snapshot(revision=self.revision, objects=dict(self.objects), cluster="test")

    def run(self, *planners: Planner, rounds: int = 5) -> list[Action]:
        """Planners to a fixpoint (as ``runner`` does), each write applied; the writes."""
        done: list[Action] = []
        for _ in range(rounds):
            wrote = False
            for planner in planners:
                for action in planner(self.snapshot(), self.clock):
                    if action.kind is ActionKind.DELETE:
                        key = next(k for k, s in self.objects.items()
                                   if (s.obj.kind, s.obj.name) == (action.target.kind,
                                                                   action.target.name))
                        del self.objects[key]
                    elif action.obj is not None:
                        current = self.objects.get(action.obj.key)
                        if current is not None and objects.same(current.obj, action.obj):
                            continue
                        self.put(action.obj)
                    else:
                        continue
                    done.append(action)
                    wrote = True
            if not wrote:
                break
        return done

    def of_kind(self, cls: type[Any]) -> list[Any]:
        return self.snapshot().of_kind(cls)

    def get(self, cls: type[Any], name: str) -> Any:
        return next(o for o in self.of_kind(cls) if o.name == name)

    def pods(self, phase: str | None = None) -> list[core.Pod]:
        return [p for p in self.of_kind(core.Pod) if phase is None or p.status.phase == phase]

    def active(self) -> list[core.Pod]:
        return [p for p in self.pods() if podstate.is_active(p)]

    def set_phase(self, pods: Iterable[core.Pod], phase: str, *, restarts: int = 0) -> None:
        """What the agent would report: Running, or finished now (with a finish time)."""
        now = objects.now_text(self.clock)
        for pod in pods:
            status: dict[str, Any] = {"phase": phase, "startTime": pod.status.start_time or now}
            container: dict[str, Any] = {"name": "main", "image": "busybox:1",
                                         "restartCount": restarts}
            if phase == "Running":
                container["state"] = {"running": {"startedAt": now}}
                container["ready"] = True
                status["conditions"] = [{"type": "Ready", "status": "True",
                                         "lastTransitionTime": now}]
            elif phase in ("Succeeded", "Failed"):
                code = 0 if phase == "Succeeded" else 1
                container["state"] = {"terminated": {"exitCode": code, "finishedAt": now,
                                                     "reason": "Completed" if code == 0
                                                     else "Error"}}
            status["containerStatuses"] = [container]
            self.put(pod.model_copy(update={"status": core.PodStatus.model_validate(status)}))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
