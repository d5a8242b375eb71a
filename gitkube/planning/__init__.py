"""The planning kernel the planner packages share: Actions, the Snapshot, object helpers.

    actions.py    Action (a kind, the object it touches, a reason) and ObjectRef
    snapshot.py   Snapshot: the store's objects, Git's desired objects and the nodes' reports
                  a pass plans on; ``with_actions`` previews writes without a store, or
                  (``written_at``) says what the store holds once they are written
    objects.py    helpers every planner uses: owner references, conditions, names, equality
    claims.py     claims, volumes and storage classes as both planner packages read them

Pure: imported by ``controllers/`` and ``scheduler/`` (and the fixpoint runner above them);
it imports only ``api`` and the clock.
"""
