"""Tests of gitkube.nodes: transports, the agent client, image shipping."""
