"""The controllers: pure planners from a store snapshot and a clock to a list of Actions.

    desired.py       Git → store: the store holds exactly Git's objects
    deployments.py   Deployment → ReplicaSets (rollout.py: the arithmetic; confighash.py:
                     rolling when a ConfigMap or Secret the pods read changes)
    replicasets.py   ReplicaSet → Pods, and their counts
    daemonsets.py    DaemonSet → a pod on every node that should run it (daemonplacement.py,
                     daemonupdate.py: where and which)
    statefulsets.py  StatefulSet → Pods and claims, in order (statefulpods.py: identities)
    revisions.py     ControllerRevisions of DaemonSets and StatefulSets
    volumes.py       claims → volumes: the PersistentVolume controller, local-path provisioning
    updaterules.py   changes in Git the API server forbids for workloads and storage
    jobs.py          Job → Pods, to completion (jobpods.py: names, back-off, finish times)
    cronjobs.py      CronJob → Jobs, one per scheduled time
    gc.py            what nothing owns any more goes
    ipam.py          node pod subnets, Service cluster IPs and NodePorts, LoadBalancer status
    endpointslices.py  Services + ready pods → EndpointSlices (endpoints.py: which pods, ports)
    podstatus.py     observed → store: Node and Pod status from the agents' reports
                     (podreports.py: one report → a Pod's status; evictions.py: taints)
    nodesync.py      store ↔ node: which pods each reached node must start or stop
    nodenetwork.py   each node's share of the network, lowered into the agent's NetworkRun
    lowering.py      a Pod → the agent's PodRun (containeropts.py: how containers run;
                     expansion.py: ``$(VAR)`` as Kubernetes expands it)

``reconcile.fixpoint`` runs them (with the scheduler) to a fixpoint. They import
``planning``, ``api`` and the agent's wire protocol; nothing here does I/O (an
import-linter contract).
"""
