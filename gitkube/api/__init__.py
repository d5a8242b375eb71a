"""gitkube's object model: Kubernetes kinds as pydantic models, and the rules they obey.

    meta.py         what every object shares: the model base, ObjectMeta, owner references
    core.py         Namespace, Pod, ConfigMap, Secret (``v1``)
    pods.py         the pod spec: containers, env, ports, resources, volumes
    probes.py       liveness, readiness and startup probes
    lifecycle.py    postStart and preStop hooks
    security.py     security contexts
    affinity.py     node and pod (anti-)affinity, topology spread constraints
    images.py       image references, by the OCI grammar
    apps.py         Deployment, ReplicaSet (``apps/v1``); daemonsets.py, statefulsets.py;
                    revisions.py: ControllerRevision
    batch.py        Job, CronJob (``batch/v1``); cron.py: their schedules
    scheduling.py   PriorityClass; accounts.py: ServiceAccount
    services.py     Service (``v1``); discovery.py: EndpointSlices (``discovery.k8s.io/v1``)
    network.py      the cluster's address plan: pod and Service ranges, DNS, NodePorts
    storage.py      PersistentVolumeClaim, PersistentVolume, StorageClass
    node.py         Nodes, from the machines of the inventory; nodematch.py: whether a node
                    suits a pod spec (name, selector, required affinity, taints)
    podstate.py     what a pod's status means (readiness, kubectl's STATUS, READY, RESTARTS);
                    nodestate.py: a node's; shared by the planners, root cause and the views
    inventory.py    ``inventory.yaml`` (inventory_checks.py: its rules beyond field types;
                    simnodes.py: many simulated nodes from one entry)
    registry.py     the kinds gitkube knows, their short names; a manifest or stored value →
                    an object
    validation.py   rules shared by every kind; pod_checks.py: the pod spec's own rules
    names.py        name rules with Kubernetes' messages; errors.py: problems field by field
    fields.py       shared field types; quantities.py: resource quantities as decimals
    selectors.py    label selectors; hashing.py: stable short hashes; keys.py: store keys
    schemas.py      JSON Schemas of the manifests, generated from the models

The bottom layer: it imports nothing else of gitkube. Nothing is imported here so that
``import gitkube.api`` stays cheap; import the module you need.
"""
