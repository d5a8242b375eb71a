# gitkube — `make demo` starts a one-node cluster here; `make test` runs everything CI runs.
# Both install what they need (Debian packages with sudo when not root, and .venv/) and can be
# run again at any time.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := podman runc openssh-server git busybox-static python3-venv python3-pip age \
	etcd-server etcd-client nftables iproute2 containerd containernetworking-plugins
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
DEMO_IMAGE := localhost/gitkube-demo/web:v1
PYTEST_ARGS ?=

.PHONY: help deps venv lint test test-fast demo demo-image demo-clean bench

help:
	@echo "make demo   start a one-node cluster on this machine from example-repo/ (in ./demo)"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make bench  run the benchmarks in bench/"

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

venv: deps $(STAMP)

lint: venv
	$(VENV)/bin/ruff check gitkube tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m gitkube.api.schemas --check

test: lint
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-fast: venv
	$(PY) -m pytest -q -p no:cacheprovider -m "not podman and not ssh" $(PYTEST_ARGS)

# The demo's image is busybox-static imported into podman: nothing is pulled from a registry.
demo-image: deps
	@podman image exists $(DEMO_IMAGE) || { \
	  d=$$(mktemp -d) && mkdir -p $$d/bin $$d/tmp && cp /bin/busybox $$d/bin/ && \
	  for a in sh httpd wget nc sleep cat echo ls env; do ln -s busybox $$d/bin/$$a; done && \
	  tar -C $$d -c . | podman import -q -c 'CMD ["/bin/sh"]' - $(DEMO_IMAGE) >/dev/null && \
	  rm -rf $$d && echo "Built $(DEMO_IMAGE) from busybox-static"; }

demo: venv demo-image
	@test -d demo || $(VENV)/bin/gitkube init demo --from example-repo
	@cd demo && ../$(VENV)/bin/gitkube apply --yes
	@cd demo && ../$(VENV)/bin/gitkube status
	@echo
	@echo "The demo cluster's repository is ./demo. Try:"
	@echo "  cd demo && source ../$(VENV)/bin/activate"
	@echo "  gitkube get pods -o wide                     # the three web pods and their IPs"
	@echo "  sed -i 's/replicas: 3/replicas: 5/' web.yaml && git commit -am 'Scale web to 5'"
	@echo "  gitkube plan                                 # what the next pass will do"
	@echo "  gitkube apply && git log --oneline gitkube/status"
	@echo "  make demo-clean                              # (from the checkout) stop and remove it"

demo-clean: venv
	@if [ -d demo ]; then \
	  cd demo && git rm -q '*.yaml' ':!inventory.yaml' && git commit -qm 'Remove every workload' && \
	  ../$(VENV)/bin/gitkube apply --yes >/dev/null && cd .. && rm -rf demo && echo "demo removed"; \
	fi

bench: venv
	$(PY) bench/apply.py
	$(PY) bench/scheduler.py
	$(PY) bench/store.py
	$(PY) bench/push_latency.py
	$(PY) bench/steady_pass.py
