"""The source layer: the Git repository as gitkube's API server, and all of gitkube's Git work.

    repo.py        one commit in, one Revision out (yamlload → scalars → manifests → secrets)
    yamlload.py    YAML text → documents that remember the line of every key and item
    scalars.py     what a YAML scalar means, the way Kubernetes reads it
    manifests.py   documents → validated objects, every problem at file:line
    networkcheck.py  the address plan of a whole revision (what no single manifest can see)
    secrets.py     age-encrypted Secret values: the format, the cluster's key, decryption
    sealing.py     a plain Secret manifest sealed for Git (``gitkube secret encrypt``)
    signatures.py  signed commits: who may change the cluster
    settings.py    the cluster's ``gitkube.*`` git config (branch, state dir, policies)
    status.py      the status ledger: observed state committed to ``gitkube/status``
    edits.py       commits made for a person (``gitkube rollback``), compare-and-swap
    init.py        a new cluster repository and its first commit
    hooks.py       push to deploy: the hooks and what they run
    judge.py       pre-receive judging by the running daemon, over a Unix socket
    plumbing.py    git plumbing: commits built from objects, refs moved with compare-and-swap
    locks.py       the state directory's locks (one pass at a time, one daemon per cluster)

Below ``reconcile``; imports ``api`` only. Git failures become ``SourceError`` here.
"""
