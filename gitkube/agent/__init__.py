"""gitkube's node agent: standard library only, shipped to nodes as a standalone package.

Run as ``python3 -m gitkube.agent`` here, or ``python3 -m gitkube_agent`` on a node (the
whole directory, sub-packages included, with relative imports only); it reads one JSON
request (``protocol.Request``) and answers one JSON response. ``handler.handle`` is the
same thing in-process.

- ``protocol``, ``netprotocol``: the wire contract, the only modules the control plane
  imports (requests, ``PodRun``/``PodReport``/``NodeFacts``, ``normalize_image``; the
  node's share of the cluster network, ``NetworkRun``/``NetworkReport``); ``fencing``: a
  request's leader term, refused when lower than one the node has seen.
- ``__main__``, ``handler``: one request (or a session of them) → validate, pick the
  runtime, program the network, run the op (info, observe, converge, load-image, logs).
- ``converge``: plan the node (pure) and execute it: pull policy and back-off, removals,
  creations; ``initsteps``: which containers a pod may create now (init order, pure).
- ``runtimes/``: the runtime interface (``base``), its one factory (``kinds``) and the
  runtimes: podman, containerd, sim.
- ``identity``: the node's one copy of pod identity: deterministic names, keys, labels.
- ``reports``: a runtime's containers → PodReports, phases and reasons in kubelet's words.
- ``supervisor``: the node-resident restart and probe loop; ``healing``: its pure rules
  (back-off, probe thresholds, events); ``probing``, ``grpc_health``: network probes from
  inside the pod's namespace (``hpack``: HTTP/2 headers, also for containerd's API);
  ``hooks``: postStart and preStop.
- ``network``: the node's share of the cluster network (the runtime's pod network, host-gw
  routes, Services); ``netcheck`` checks a request's network first, ``nftables`` renders
  kube-proxy's rules, ``dnsserver``/``dnszone``/``dnswire`` answer cluster DNS;
  ``podnetwork``: what a pod gets from it when the runtime creates it (its network, DNS,
  service variables). ``daemons``: the agent's resident processes (the DNS server, the
  supervisor).
- ``state``: the agent's directory on the node (desired pods, waiting reasons, the
  supervisor's records, the event journal); ``files``: env files, ConfigMap/Secret
  volumes (atomic ``..data`` swap) and emptyDirs; ``volumes``: hostPath checks and
  claim directories (k3s's local-path); ``security``: kubelet's runAsNonRoot check and
  resolv.conf composition.
"""
