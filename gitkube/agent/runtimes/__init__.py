"""The node's container runtimes behind one interface.

- ``base``: ``Runtime``, everything the agent asks of a container engine (observe, create
  and remove pods, images, logs, stats, one container's start/stop/exec for the supervisor,
  hooks and probes) and kubelet's rules built on it; ``RuntimeFailure``.
- ``kinds``: ``make``, the one map from ``runtime.kind`` to a runtime class.
- ``podman``: the podman CLI; its pure helpers beside it: ``podman_args`` (flags),
  ``podman_report`` (parsers of its JSON), ``podman_hostconf`` (the containers.conf a host
  needs).
- ``containerd``: containerd's API over its socket (``containerd_wire``: gRPC and protobuf
  with the standard library; ``containerd_api``: the calls, named), pod sandboxes as
  namespace files and tmpfs (``containerd_sandbox``), whole OCI specs (``containerd_spec``,
  pure), images in its store (``containerd_images``), its records as ``reports.Seen``
  (``containerd_report``, pure), cgroups, image files and the pod bridge on the node
  (``containerd_host``), the CNI plugins (``cni``).
- ``host``: the machine's memory and OS name, for the runtimes whose containers run on it.
- ``sim``: pods as data, on a clock, for scale tests; ``sim_programs`` reads a container's
  command as the few shell statements the simulator plays.
"""
