"""The scheduler: a pure planner that binds pending pods to nodes, kube-scheduler's way.

    cluster.py    snapshot → NodeInfo/PodInfo records (the only model access), priorities
    terms.py      affinity, selectors and spread constraints compiled to hashable records
    topology.py   pods counted by topology domain, kept current as the pass places pods
    volumes.py    the claims as the scheduler sees them: where each lets its pods go
    framework.py  the records, plugin protocols, statuses, Kubernetes' messages
    plugins/      one module per filter/score plugin, and the default profile
    cycle.py      one scheduling cycle per pod: filter, score, select, assume
    preemption.py kube-scheduler's DefaultPreemption, when a pod fits nowhere
    scheduler.py  plan_scheduling (Actions) and explain (``describe pod``)

Pure: imports ``planning``, ``api`` and the clock (and numpy); ``reconcile.fixpoint`` runs it.
"""

from __future__ import annotations

from gitkube.scheduler.scheduler import explain, plan_scheduling

__all__ = ["explain", "plan_scheduling"]
