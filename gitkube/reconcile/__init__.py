"""Running a pass, and the library face the CLI uses: everything above the planners.

    face.py       the library face: the CLI's one import (open_cluster, init, saved plans,
                  the daemon, sealing Secrets, store copy, and the types the views render);
                  light, the engine loads on first use
    cluster.py    Cluster: one cluster's handle, thin; each method hands over to a module below
    home.py       Home: the repository, settings, state dir, store and clock a pass works with
    passes.py     one pass: observe, plan, write the store, converge the nodes, record status
    sources.py    the revision a pass plans from (the last good one when the newest is refused)
    planner.py    the store read once into a Snapshot (with Git's desired objects), planned once
    fixpoint.py   every planner run to a fixpoint; the status planners after a converge (pure)
    writes.py     Actions → store operations, one compare-and-swap transaction
    results.py    Plan, Progress, PassResult, PassRecord: what a pass reports
    summaries.py  pods restarted and rescheduled, Deployments' readiness (pure)
    records.py    what a pass leaves: the status commit, the pass record, the events
    reads.py      the read side: objects, owners, pods on a node, the scheduler's explain
    setup.py      ``gitkube init`` and finding the cluster repository
    stores.py     which store a cluster uses (SQLite or etcd, Secrets encrypted); store copy
    fleet.py      node operations of a pass, in parallel per node; container logs
    ledger.py     the status ledger's files and commit messages (pure)
    events.py     Kubernetes-style events kept in the store
    plans.py      saved plans (``plan --out``, ``apply FILE``)
    history.py    Deployment revisions and GitOps rollback
    rootcause.py  the one line that says why something is not ready (pure)
    serve.py      the daemon: a pass when the branch moves and on a timer

Imports everything below the CLI (planners, planning, source, store, nodes, api); only
``fixpoint`` is under the planners' no-I/O contract.
"""
