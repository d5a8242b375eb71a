"""The node's container runtimes behind one interface.

- ``base``: ``Runtime``, everything the agent asks of a container engine (observe, create
  and remove pods, images, logs, stats, one container's start/stop/exec for the supervisor,
  hooks and probes) and kubelet's rules built on it; ``RuntimeFailure``.
- ``kinds``: ``make``, the one map from ``runtime.kind`` to a runtime class.
- ``podman``: the podman CLI; its pure helpers beside it: ``podman_args`` (flags),
  ``podman_report`` (parsers of its JSON), ``podman_hostconf`` (the containers.conf a host
  needs).
- ``sim``: pods as data, on a clock, for scale tests; ``sim_programs`` reads a container's
  command as the few shell statements the simulator plays.
"""
