"""Running a pass: sync the source, plan to a fixpoint, apply, record status.

    engine.py     Cluster: the library face the CLI, ``serve`` and cron use
    fixpoint.py   every planner run to a fixpoint (pure: no I/O, no wall clock)
    fleet.py      node operations of a pass, in parallel per node
    ledger.py     the status ledger's files and commit messages (pure)
    events.py     Kubernetes-style events kept in the store
    plans.py      saved plans (``plan --out``, ``apply FILE``)
    history.py    Deployment revisions and GitOps rollback
    rootcause.py  the one line that says why something is not ready
    serve.py      the daemon: a pass when the branch moves and on a timer
"""
