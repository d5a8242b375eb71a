"""The controllers: pure planners from a store snapshot and a clock to a list of Actions.

``reconcile.fixpoint.plan_pass`` runs them (with the scheduler) to a fixpoint; ``apply``
elsewhere carries the actions out. Nothing in this package does I/O.
"""
