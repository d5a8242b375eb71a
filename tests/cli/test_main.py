"""Argument parsing: what ``gitkube`` accepts, without a cluster."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gitkube.cli import commands, main
from tests.cli import objects as o


def parse(*argv: str) -> argparse.Namespace:
    return main.build_parser().parse_args(argv)


def test_plan_options() -> None:
    args = parse("plan", "--detailed-exitcode", "-o", "json", "--no-refresh")
    assert args.run is commands.cmd_plan
    assert (args.detailed_exitcode, args.output, args.no_refresh) == (True, "json", True)


def test_global_options_go_before_or_after_the_command() -> None:
    before = parse("--repo", "/srv/c", "--state", "/var/lib/c", "status")
    after = parse("status", "--repo", "/srv/c", "--state", "/var/lib/c")
    for args in (before, after):
        assert (args.repo, args.state) == (Path("/srv/c"), Path("/var/lib/c"))


def test_global_options_are_absent_unless_given() -> None:
    args = parse("reconcile")
    assert not hasattr(args, "repo") and not hasattr(args, "state")


def test_get_options() -> None:
    args = parse("get", "po", "web-1", "-o", "wide", "-n", "shop")
    assert (args.kind, args.name, args.output, args.namespace) == ("po", "web-1", "wide", "shop")
    assert parse("get", "pods", "-A").all_namespaces


def test_init_options() -> None:
    args = parse("init", "demo", "--from", "manifests", "--state", "/tmp/s", "--bare")
    assert (args.directory, args.from_folder, args.state, args.bare) == (
        Path("demo"), Path("manifests"), Path("/tmp/s"), True)


def test_apply_yes() -> None:
    assert parse("apply", "--yes").yes and not parse("apply").yes


@pytest.mark.parametrize("argv", [
    ["plan", "-o", "yaml"], ["get"], ["get", "pods", "-n", "x", "-A"], ["describe", "secret", "x"],
    ["frobnicate"], [],
], ids=["plan-yaml", "get-no-kind", "ns-and-all", "describe-secret", "unknown", "nothing"])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(argv) == 2
    assert "usage: gitkube" in capsys.readouterr().err


def test_describe_takes_kubectls_words_for_its_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["describe", "secret", "x"]) == 2
    assert ("invalid choice: 'secret' (choose from 'daemonset', 'daemonsets', 'deploy', "
            "'deployment', 'deployments', 'ds', 'no', 'node', 'nodes', 'persistentvolumeclaim', "
            "'persistentvolumeclaims', 'po', 'pod', 'pods', 'pvc', 'service', 'services', "
            "'statefulset', 'statefulsets', 'sts', 'svc')") in capsys.readouterr().err


def test_help_lists_every_command_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("init", "validate", "plan", "apply", "reconcile", "get", "describe",
                    "status"):
        assert f"    {command} " in text


def test_an_unknown_kind_is_an_error_before_any_cluster_is_opened(tmp_path: Path) -> None:
    out, err = o.console(), o.console()
    assert main.main(["get", "ingresses", "--repo", str(tmp_path)], out=out, err=err) == 1
    assert o.text_of(err).startswith('Error: gitkube does not know the kind "ingresses".')
