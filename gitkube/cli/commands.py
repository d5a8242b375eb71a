"""The body of each command: open the cluster, call the library, hand the result to a view.

One function per command, ``(args, ctx) -> exit code``. They raise gitkube's errors
freely: ``exits.run`` turns those into messages and exit codes.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.text import Text

from gitkube import clock, errors
from gitkube.api import apps, core, daemonsets, node, registry, services, statefulsets, storage
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.cli import (
    describe,
    exits,
    gitops,
    render,
    render_plan,
    serviceviews,
    status,
    tables,
    watch,
    workloadviews,
)
from gitkube.cli.context import Context
from gitkube.reconcile import face

# -- init, validate ----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    directory: Path = args.directory
    sha = face.init_cluster(directory, from_folder=args.from_folder,
                              state=getattr(args, "state", None), bare=args.bare)
    kind = "bare cluster repository" if args.bare else "cluster repository"
    ctx.out.print(Text.assemble("Initialized ", kind, " ", (str(directory), "bold"),
                                f" (first commit {render.short_sha(sha)})."))
    made = ["inventory.yaml: one node, this machine, running pods with podman"]
    if args.from_folder:
        if (args.from_folder / "inventory.yaml").is_file():
            made = [f"inventory.yaml: the one of {args.from_folder}"]
        made.append(f"manifests copied from {args.from_folder}")
    for line in made:
        ctx.out.print(Text(f"  {line}"))
    ctx.out.print("\nNext steps:")
    if args.bare:
        steps = [f"git clone {directory} my-cluster && cd my-cluster",
                 "add manifests, git commit, git push",
                 f"gitkube --repo {directory} plan     see what the cluster would do",
                 f"gitkube --repo {directory} apply    make it so"]
    else:
        steps = [f"cd {directory}",
                 "edit inventory.yaml, add manifests, git commit",
                 "gitkube plan     see what the cluster would do",
                 "gitkube apply    make it so"]
    for step in steps:
        ctx.out.print(Text(f"  {step}"))
    return exits.OK


def cmd_validate(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.cluster(args) as cluster:
        revision = cluster.validate()
    objects = revision.objects
    files = {o.metadata.annotations.get(SOURCE_ANNOTATION, "").split(":")[0]
             for o in objects} - {""}
    where = f" in {render.plural(len(files), 'file')}" if files else ""
    ctx.out.print(Text.assemble(("✓ ", "green"), render.plural(len(objects), "object"), where,
                                f" valid at {render.short_sha(revision.sha)}"))
    return exits.OK


# -- plan, apply, reconcile --------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.cluster(args) as cluster:
        plan = cluster.plan(refresh=not args.no_refresh,
                            revision=getattr(args, "revision", None))
    if getattr(args, "out", None) is not None:
        face.save_plan(plan, args.out, created=clock.format_time(ctx.clock.now()))
        ctx.err.print(Text(f"Saved the plan to {args.out}; `gitkube apply {args.out}` applies "
                           "exactly it, or refuses if Git or the cluster moved on."),
                      soft_wrap=True)
    if args.output == "json":
        render.out(ctx.out, json.dumps(plan.to_dict(), indent=2))
    else:
        ctx.out.print(render_plan.render_plan(plan), soft_wrap=True)
    if plan.problems:
        return exits.ERROR
    if args.detailed_exitcode and plan.has_changes:
        return exits.CHANGES
    return exits.OK


def cmd_apply(args: argparse.Namespace, ctx: Context) -> int:
    plan_file: Path | None = getattr(args, "plan_file", None)
    if plan_file is not None:
        return _apply_saved(args, ctx, plan_file)
    with ctx.cluster(args) as cluster:
        plan = cluster.plan()
        asking = plan.has_changes and ctx.interactive and not args.yes
        # Unless a person decides on this plan, a node that did not answer is told once, in
        # the result (the pass tries it again under the lock).
        ctx.out.print(render_plan.render_plan(plan, nodes=asking), soft_wrap=True)
        if asking:
            try:
                answer = ctx.out.input("\nApply these changes? [y/N] ")
            except EOFError:  # Ctrl-D: as good as no
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                ctx.out.print("Apply cancelled; nothing was changed.")
                return exits.OK
        ctx.out.print()
        with _progress(ctx.out) as report:
            result = cluster.apply(progress=report)
    ctx.out.print(render_plan.render_result(result), soft_wrap=True)
    return exits.OK if result.ok else exits.ERROR


def _apply_saved(args: argparse.Namespace, ctx: Context, plan_file: Path) -> int:
    """``apply FILE``: the saved plan is what was reviewed, so there is no question to ask."""
    saved = face.load_plan(plan_file)
    with ctx.cluster(args) as cluster, _progress(ctx.out) as report:
        result = cluster.apply(progress=report, saved=saved)
    ctx.out.print(render_plan.render_result(result), soft_wrap=True)
    return exits.OK if result.ok else exits.ERROR


def cmd_reconcile(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.cluster(args) as cluster:
        result = cluster.apply(wait_for_lock=getattr(args, "wait", False))
    if not result.ok:
        for line in render_plan.warnings(result.plan):
            ctx.err.print(line, soft_wrap=True)
        for error in result.errors:
            ctx.err.print(Text.assemble(("Error: ", "bold red"), error), soft_wrap=True)
        if result.summary:
            ctx.err.print(Text(result.summary), soft_wrap=True)
        return exits.ERROR
    if result.changed:
        commit = (f" (status {render.short_sha(result.status_commit)})"
                  if result.status_commit else "")
        ctx.out.print(Text(f"{result.summary or 'changes applied'}{commit}"), soft_wrap=True)
        if getattr(args, "detailed_exitcode", False):
            return exits.CHANGES
    return exits.OK


@contextmanager
def _progress(console: Console) -> Iterator[face.ProgressCallback]:
    """A live progress display on a terminal; one plain line per report otherwise."""
    if not console.is_terminal:
        lock = threading.Lock()

        def plain(event: face.Progress) -> None:
            count = f" ({event.done}/{event.total})" if event.total else ""
            with lock:
                console.print(Text(f"{event.stage}: {event.message}{count}"), soft_wrap=True)

        yield plain
        return
    columns = (SpinnerColumn(), TextColumn("[bold]{task.fields[stage]:<7}"),
               TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def live(event: face.Progress) -> None:
            if event.stage not in tasks:
                for earlier in tasks.values():  # stages run one after the other
                    progress.update(earlier, total=1, completed=1)
                tasks[event.stage] = progress.add_task(event.message, stage=event.stage,
                                                       total=event.total or None)
            progress.update(tasks[event.stage], description=event.message,
                            completed=event.done, total=event.total or None)

        yield live


# -- get, describe, status ---------------------------------------------------------------------


def cmd_get(args: argparse.Namespace, ctx: Context) -> int:
    plural = tables.resolve_kind(args.kind)
    namespaced = plural not in tables.CLUSTER_SCOPED
    with ctx.cluster(args) as cluster:
        if args.name:
            found = cluster.get(plural, args.name, args.namespace)
            if found is None:
                where = f' in namespace "{args.namespace}"' if namespaced else ""
                raise errors.ConfigError(
                    f'There is no {plural.removesuffix("s")} named "{args.name}"{where}; '
                    f"list them with `gitkube get {plural}`.")
            objects: list[KubeObject] = [found]
        else:
            objects = cluster.objects(plural)
            if namespaced and not args.all_namespaces:
                objects = [o for o in objects if o.namespace == args.namespace]
    if args.output in ("json", "yaml"):
        doc = tables.document(objects, single=bool(args.name))
        text = tables.render_json(doc) if args.output == "json" else tables.render_yaml(doc)
        render.out(ctx.out, text)
        return exits.OK
    if not objects:
        where = f" in {args.namespace} namespace" if namespaced and not args.all_namespaces else ""
        ctx.err.print(f"No resources found{where}.", highlight=False)
        return exits.OK
    render.out(ctx.out, tables.render_table(plural, objects, ctx.clock.now(),
                                            wide=args.output == "wide",
                                            all_namespaces=args.all_namespaces))
    return exits.OK


#: The words ``describe`` takes for a kind (po, pod, pods...) → its plural.
DESCRIBE_KINDS = {word: plural for plural in ("pods", "deployments", "statefulsets",
                                              "daemonsets", "nodes", "persistentvolumeclaims",
                                              "services")
                  for word in registry.names_for(plural)}


def cmd_describe(args: argparse.Namespace, ctx: Context) -> int:
    plural = DESCRIBE_KINDS[args.kind]
    now = ctx.clock.now()
    with ctx.cluster(args) as cluster:
        obj = cluster.get(plural, args.name, args.namespace)
        if obj is None:
            raise errors.ConfigError(
                f'There is no {plural.removesuffix("s")} named "{args.name}"'
                + ("" if plural == "nodes" else f' in namespace "{args.namespace}"')
                + f"; list them with `gitkube get {plural}`.")
        if isinstance(obj, core.Pod):
            lines = describe.describe_pod(obj, now, cluster.explain(obj))
            lines[2:2] = _cause_line(cluster, obj)
        elif isinstance(obj, apps.Deployment):
            owned = render.of_kind(apps.ReplicaSet, cluster.owned_by(obj, "replicasets"))
            lines = describe.describe_deployment(obj, owned, now)
            lines[2:2] = _cause_line(cluster, obj)
        elif isinstance(obj, (statefulsets.StatefulSet, daemonsets.DaemonSet)):
            members = render.of_kind(core.Pod, cluster.owned_by(obj, "pods"))
            lines = (describe.describe_statefulset(obj, members, now)
                     if isinstance(obj, statefulsets.StatefulSet)
                     else describe.describe_daemonset(obj, members, now))
            lines[2:2] = _cause_line(cluster, obj)
        elif isinstance(obj, node.Node):
            lines = describe.describe_node(obj, cluster.pods_on(obj.name), now)
        elif isinstance(obj, storage.PersistentVolumeClaim):
            users = [p.name for p in render.of_kind(core.Pod, cluster.objects("pods"))
                     if p.namespace == obj.namespace and any(
                         v.persistent_volume_claim and v.persistent_volume_claim.claim_name
                         == obj.name for v in p.spec.volumes)]
            lines = workloadviews.describe_claim(obj, users, now, cluster.cause(obj))
        elif isinstance(obj, services.Service):
            lines = serviceviews.describe_service(obj, cluster.endpoint_slices(obj),
                                                  cluster.traffic(obj))
        else:
            raise TypeError(f"describe got a {obj.kind}")
        namespace = obj.namespace if obj.namespaced else None
        found = cluster.events(kind=obj.kind, name=obj.name, namespace=namespace)
        lines += gitops.event_lines(found, now)
    render.out(ctx.out, "\n".join(lines))
    return exits.OK


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.cluster(args) as cluster:
        done = cluster.delete_pod(args.name, args.namespace)
    ctx.out.print(done, highlight=False)
    return exits.OK


def _cause_line(cluster: face.Cluster, obj: KubeObject) -> list[str]:
    """``Cause:`` with the first reason the object is not ready (none when it is)."""
    cause = cluster.cause(obj)
    return [f"{'Cause:':<16} {cause}"] if cause else []


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    if getattr(args, "watch", False):
        with ctx.cluster(args) as cluster:
            watch.watch(cluster, ctx)
        return exits.OK
    with ctx.cluster(args) as cluster:
        view = status.build_status_view(cluster, ctx.clock.now())
    status.render_status(view, ctx.out)
    return exits.OK
