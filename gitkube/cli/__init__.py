"""The command line: ``gitkube init / plan / apply / reconcile / get / describe / status / ...``.

The top of the stack and its thinnest layer: it parses arguments, calls the library face
(``gitkube.reconcile.face``) and turns what comes back into text. Nothing here decides
what the cluster should do; besides the face it imports only ``api``, ``errors`` and
``clock`` (an import-linter contract).

    main.py         the argument parser and the dispatch; ``main(argv)`` returns the exit code
    context.py      Context: the consoles, the clock, and the cluster the arguments name
    commands.py     init, validate, plan, apply, reconcile, get, describe, status
    gitops.py       serve, cron, events, history (the status ledger)
    rollback.py     history deployment/NAME and rollback
    logs.py         logs (a container's output, from its node)
    secret.py       secret keygen / encrypt
    storecmd.py     store copy
    watch.py        status --watch
    exits.py        errors to exit codes and messages
    render.py       shared helpers for text output (tables, ages, short shas)
    render_plan.py  how a Plan and a PassResult read
    tables.py       ``get``'s tables and documents (batchviews.py: Jobs and CronJobs)
    describe.py     ``describe``'s sections (serviceviews.py: Services, EndpointSlices)
    status.py       ``status``'s view, built as data then drawn
"""
