"""gitkube's object model: Kubernetes kinds as pydantic models, and the rules they obey.

Nothing is imported here so that ``import gitkube.api`` stays cheap; import the
module you need: ``registry`` (parse_object, from_stored, key_for), ``core`` (Pod,
ConfigMap, Secret, Namespace), ``apps`` (Deployment, ReplicaSet), ``node``,
``quantities``, ``selectors``, ``hashing``, ``errors``; ``podstate`` and ``nodestate``
(what a pod's or node's status means: readiness, kubectl's STATUS words), which the
planners, root cause and every view share. This package imports nothing else of gitkube.
"""
