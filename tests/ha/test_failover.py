"""Failover end to end: three ``gitkube serve`` (their own clones and state directories) on one
three-member etcd, one simulated node shared by them, pushes to one origin.

The leader is killed with SIGKILL at random moments of its passes, ``KILLS`` times (5 in the
default run, which has a 10-minute budget for everything; ``GITKUBE_FAILOVER_KILLS=50`` runs
the issue's 50): each time a standby leads, every pushed revision is applied, the node runs
each pod once, and the origin's ledger stays one line. A leader stopped with SIGSTOP past its
lease is replaced, and when it continues it writes nothing and touches no node, and says so.
Short leader timings (lease 3 s, renew deadline 2 s, retry 0.5 s) keep it quick.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gitkube.reconcile import leader
from gitkube.store import encryption, open_store
from tests.e2e.harness import deployment, write_file
from tests.fixtures import etcd as etcd_fixtures
from tests.waiting import until

GITKUBE = str(Path(sys.executable).with_name("gitkube"))
KILLS = int(os.environ.get("GITKUBE_FAILOVER_KILLS", "5"))
TIMING = {"leaseDuration": "3", "renewDeadline": "2", "retryPeriod": "0.5"}
ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env=ENV).stdout.strip()


@dataclass
class Machine:
    """One control machine: a clone of the origin, its state directory, its ``serve``."""

    name: str
    clone: Path
    log: Path
    origin: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [GITKUBE, "--repo", str(self.clone), "serve", "--follow", str(self.origin),
                 "--interval", "2", "--fetch-interval", "0.5"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        os.kill(self.process.pid, sig)
        if sig == signal.SIGKILL:
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Control:
    """The three machines, the origin people push to, the simulated node, the etcd."""

    etcd: etcd_fixtures.Cluster
    origin: Path
    work: Path
    node_state: Path
    machines: list[Machine] = field(default_factory=list)
    replicas: int = 2
    pushes: int = 0

    def push(self, replicas: int) -> str:
        self.replicas = replicas
        self.pushes += 1
        web = deployment("web", replicas, "busybox")
        web["metadata"]["annotations"] = {"test/push": str(self.pushes)}  # always a change
        write_file(self.work, "web.yaml", web)
        git("commit", "-qam", f"web: {replicas}", cwd=self.work)
        git("push", "-q", "origin", "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def leader(self) -> Machine | None:
        store = open_store(self.etcd.url)
        try:
            record = leader.roster(store).leader
        finally:
            store.close()
        if record is None:
            return None
        return next((m for m in self.machines if m.process and m.process.pid == record["pid"]),
                    None)

    def applied(self) -> str:
        store = open_store(self.etcd.url)
        try:
            record = store.get("/gitkube/source")
        finally:
            store.close()
        return str(record.value.get("lastAppliedRevision", "")) if record else ""

    def node_pods(self) -> list[dict[str, object]]:
        path = self.node_state / "sim.json"
        pods = json.loads(path.read_text())["pods"] if path.exists() else {}
        return list(pods.values())

    def ledger_summary(self) -> str:
        done = subprocess.run(["git", "show", "gitkube/status:status/summary.yaml"],
                              cwd=self.origin, capture_output=True, text=True, check=False)
        return done.stdout

    def converged(self, revision: str) -> bool:
        pods = self.node_pods()
        return self.applied() == revision and len(pods) == self.replicas and all(
            len(p["containers"]) == 1 for p in pods)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory,
            etcd_cluster: etcd_fixtures.Cluster) -> Iterator[Control]:
    """Shared by this module's tests (each starts from whatever leader there is)."""
    etcd_cluster.wipe()
    tmp_path = tmp_path_factory.mktemp("failover")
    work, origin, node_state = tmp_path / "work", tmp_path / "origin.git", tmp_path / "node"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    write_file(work, "inventory.yaml", {
        "apiVersion": "gitkube.io/v1alpha1", "kind": "Inventory", "cluster": "ha",
        "nodes": [{"name": "here", "transport": "local", "stateDir": str(node_state),
                   "runtime": {"kind": "sim"}}]})
    write_file(work, "web.yaml", deployment("web", 2, "busybox"))
    git("add", "-A", cwd=work)
    git("commit", "-qm", "web", cwd=work)
    git("clone", "-q", "--bare", str(work), str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=work)
    key = tmp_path / "encryption.key"
    encryption.KeyRing.create(key)  # one key for the three machines, as the README says
    made = Control(etcd_cluster, origin, work, node_state)
    for n in range(1, 4):
        clone = tmp_path / f"cp{n}"
        git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
        for name, value in {"store": etcd_cluster.url, "encryptionKey": str(key),
                            "state": str(tmp_path / f"state{n}"), **TIMING}.items():
            git("config", f"gitkube.{name}", value, cwd=clone)
        made.machines.append(Machine(f"cp{n}", clone, tmp_path / f"cp{n}.log", origin))
    for machine in made.machines:
        machine.start()
    try:
        yield made
    finally:
        for machine in made.machines:
            machine.stop()


def other_leader(control: Control, pid: int) -> Machine | None:
    """The leading machine, when it is not the process ``pid``."""
    found = control.leader()
    return found if found is not None and found.process and found.process.pid != pid else None


def test_a_killed_leader_is_replaced_and_nothing_is_lost(control: Control) -> None:
    until(control.leader, "a leader", timeout=60)
    until(lambda: control.converged(git("rev-parse", "HEAD", cwd=control.work)),
          "the first pass", timeout=120)
    leaders = set()
    for kill in range(1, KILLS + 1):
        now = until(control.leader, "a leader", timeout=60)
        assert now.process is not None
        killed = now.process.pid
        revision = control.push(2 + kill % 4)
        time.sleep(random.uniform(0.0, 1.5))  # a random moment of the pass the push started
        now.signal(signal.SIGKILL)
        now.start()  # the machine comes back, as a standby
        took = until(lambda killed=killed: other_leader(control, killed),
                     f"a standby leading after kill {kill}", timeout=60)
        leaders.add(took.name)
        until(lambda revision=revision: control.converged(revision),  # type: ignore[misc]
              f"revision {revision[:12]} applied after kill {kill}", timeout=120)

    # The origin's ledger: one line, written by leaders (their terms), up to the last push.
    until(lambda: f"sourceRevision: {revision}" in control.ledger_summary(),
          "the ledger on the origin at the last revision", timeout=60)
    assert git("rev-list", "--merges", "gitkube/status", cwd=control.origin) == ""
    terms = git("log", "--format=%(trailers:key=Gitkube-Term,valueonly,separator=)",
                "gitkube/status", cwd=control.origin).split()
    assert terms and all(t.isdigit() for t in terms)
    assert [int(t) for t in terms] == sorted((int(t) for t in terms), reverse=True)
    assert leaders


def test_a_paused_leader_writes_nothing_when_it_wakes(control: Control) -> None:
    until(lambda: control.converged(git("rev-parse", "HEAD", cwd=control.work)),
          "the first pass", timeout=120)
    paused = until(control.leader, "a leader", timeout=60)
    assert paused.process is not None
    pid = paused.process.pid
    control.push(3)
    time.sleep(random.uniform(0.3, 1.0))  # in the pass that push started, most likely
    paused.signal(signal.SIGSTOP)

    until(lambda: other_leader(control, pid), "another leader while it is stopped", timeout=60)
    revision = control.push(4)
    until(lambda: control.converged(revision), "the new leader's pass", timeout=120)
    woke = len(paused.text())
    paused.signal(signal.SIGCONT)

    said = until(lambda: "standing by:" in paused.text()[woke:] and paused.text()[woke:],
                 "the woken leader standing by", timeout=60)
    assert "lost the leadership of term" in said
    assert "writes nothing and touches no node" in said
    assert " pass ok " not in said and "pass ok (" not in said
    assert control.converged(revision) and control.applied() == revision


def test_status_names_the_leader_and_reconcile_elsewhere_has_nothing_to_do(
        control: Control) -> None:
    leading = until(control.leader, "a leader", timeout=60)
    until(lambda: control.converged(git("rev-parse", "HEAD", cwd=control.work)),
          "the first pass", timeout=120)
    standby = next(m for m in control.machines if m is not leading)
    assert leading.process is not None

    wide = {**ENV, "COLUMNS": "250"}  # one line per sentence, as a wide terminal shows it
    cron = subprocess.run([GITKUBE, "--repo", str(standby.clone), "reconcile"],
                          capture_output=True, text=True, env=wide, timeout=120)
    shown = subprocess.run([GITKUBE, "--repo", str(standby.clone), "status"],
                           capture_output=True, text=True, env=wide, timeout=120)

    assert cron.returncode == 0, cron.stderr
    assert f"(pid {leading.process.pid}, term" in cron.stderr
    assert "leads this cluster and runs its passes; this machine has nothing to do" in cron.stderr
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.startswith("Control machines:"))
    assert f"leader {leading.process.pid}" not in line  # named by host and pid, not pid alone
    assert f"(pid {leading.process.pid}, term" in line.split("standing by:")[0]
    assert line.split("standing by:")[1].count("(pid") == 2

    copy = subprocess.run([GITKUBE, "--repo", str(standby.clone), "store", "copy", "--to",
                           str(standby.clone.parent / "copy.sqlite")],
                          capture_output=True, text=True, env=wide, timeout=120)
    assert copy.returncode == 1
    assert "leads this cluster and runs its passes; stop `gitkube serve`" in copy.stderr
