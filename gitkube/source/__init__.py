"""The source layer: the Git repository as gitkube's API server.

``repo`` reads a revision (``yamlload`` → ``manifests``), ``status`` commits
observed state back to ``gitkube/status``, ``init`` creates a cluster repository
and ``locks`` keeps reconcile passes from overlapping.
"""
