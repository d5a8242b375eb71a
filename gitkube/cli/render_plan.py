"""How a Plan and a PassResult read on screen: ``gitkube plan``, ``apply`` and ``reconcile``.

A plan is a list of Actions; people think in objects and pods. So the actions are
grouped: store writes to objects ("Objects"), the pods nodes will start or stop
("Pods", one line per pod even though creating, binding and starting it are three
actions), pods the scheduler could not place, then the explicit no-ops, dimmed. The
summary line is Terraform's: "Plan: 3 to create, 1 to change, 0 to delete; ...".

Everything is built from ``rich.text.Text`` rather than markup strings: reasons and
names come from users' manifests and may contain square brackets. Print the views with
``soft_wrap=True``: one action stays one line however long, so a copied line or a
grepped CI log has it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.text import Text

from gitkube.api import core, podstate
from gitkube.cli import render
from gitkube.reconcile import face
from gitkube.reconcile.face import Action, ActionKind, ObjectRef

#: This many pods of one owner, stuck for one reason, are told in one line.
GROUP_AT = 4

_OBJECT_SIGNS = {
    ActionKind.CREATE: ("+", "green"),
    ActionKind.UPDATE: ("~", "yellow"),
    ActionKind.DELETE: ("-", "red"),
}


@dataclass
class PlanSections:
    """A plan's change actions sorted into what a person reads as one line each."""

    objects: list[Action] = field(default_factory=list)
    starts: list[Action] = field(default_factory=list)
    stops: list[Action] = field(default_factory=list)
    binds: list[Action] = field(default_factory=list)
    unschedulable: list[Action] = field(default_factory=list)
    noops: list[Action] = field(default_factory=list)

    @property
    def counts(self) -> dict[ActionKind, int]:
        counted = {kind: 0 for kind in _OBJECT_SIGNS}
        for action in self.objects:
            counted[action.kind] += 1
        return counted

    @property
    def start_nodes(self) -> set[str]:
        return {a.node for a in self.starts if a.node}


def sections(plan: face.Plan) -> PlanSections:
    out = PlanSections()
    # A pod that starts, stops or cannot be placed is told in that line alone; its store
    # writes (create, bind, delete) are the means, not news.
    told: set[ObjectRef] = {
        a.target for a in plan.actions
        if a.kind in (ActionKind.START, ActionKind.STOP) or unschedulable_message(a)
    }
    for action in plan.actions:
        if action.kind is ActionKind.NOOP:
            out.noops.append(action)
        elif action.kind is ActionKind.START:
            out.starts.append(action)
        elif action.kind is ActionKind.STOP:
            out.stops.append(action)
        elif unschedulable_message(action):
            # Shown even when only its status is rewritten: it is still stuck.
            out.unschedulable.append(action)
        elif action.status_only or (action.target in told and action.target.kind == "Pod"):
            continue
        elif action.kind is ActionKind.BIND or (
                action.kind is ActionKind.CREATE and action.target.kind == "Pod" and action.node):
            out.binds.append(action)
        else:
            out.objects.append(action)
    return out


def unschedulable_message(action: Action) -> str:
    """Why the scheduler could not place this pod, or "" when the action is not that.

    The planner folds a new pod's create and its unschedulable verdict into one CREATE,
    so the verdict is read from the pod's PodScheduled condition as well.
    """
    if action.kind is ActionKind.UNSCHEDULABLE:
        return action.reason or "no node fits"
    if not isinstance(action.obj, core.Pod) or action.kind not in (ActionKind.CREATE,
                                                                    ActionKind.UPDATE):
        return ""
    condition = podstate.unscheduled(action.obj)
    if condition is None:
        return ""
    return "no node fits" if condition.message is None else condition.message


def describe_ref(ref: ObjectRef) -> str:
    return f"{ref.kind} {ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind} {ref.name}"


def pod_name(ref: ObjectRef) -> str:
    return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name


def summary_line(plan: face.Plan) -> str:
    parts = sections(plan)
    stuck = ""
    if parts.unschedulable:
        stuck = f" {render.plural(len(parts.unschedulable), 'pod')} cannot be scheduled."
    if not plan.has_changes:
        if not plan.source_revision:
            return f"No changes: there is no valid revision of the manifests to plan from.{stuck}"
        sha = render.short_sha(plan.source_revision)
        return f"No changes. The cluster matches {sha}.{stuck}"
    counts = parts.counts
    starts = render.plural(len(parts.starts), "pod")
    nodes = parts.start_nodes
    if nodes:
        starts += " to start on " + render.plural(len(nodes), "node")
    else:
        starts += " to start"
    line = (f"Plan: {counts[ActionKind.CREATE]} to create, {counts[ActionKind.UPDATE]} to change, "
            f"{counts[ActionKind.DELETE]} to delete; {starts}, {len(parts.stops)} to stop.")
    if parts.binds:
        line += f" {render.plural(len(parts.binds), 'pod')} to bind to a node."
    return line + stuck


def warnings(plan: face.Plan, *, nodes: bool = True) -> list[Text]:
    """Problems of the newest commit, and (with ``nodes``) the nodes that did not answer."""
    lines: list[Text] = []
    if plan.problems:
        count = render.plural(len(plan.problems), "problem")
        attempted = render.short_sha(plan.attempted_revision)
        if plan.source_revision and plan.source_revision != plan.attempted_revision:
            then = f"this plan uses the last good revision {render.short_sha(plan.source_revision)}"
        else:
            then = "nothing of it is planned until they are fixed"
        lines.append(Text(f"Warning: the newest commit {attempted} has {count}, so {then}:",
                          style="bold yellow"))
        lines.extend(Text(f"  {problem}", style="yellow") for problem in plan.problems)
    for node, sentence in sorted(plan.unreachable.items() if nodes else ()):
        lines.append(Text(f"Warning: node {node} could not be reached: {sentence}",
                          style="bold yellow"))
    return lines


def _line(sign: str, style: str, body: str, reason: str = "", *, dim: bool = False) -> Text:
    text = Text("  ")
    text.append(sign, style=style)
    text.append(" " + body, style="dim" if dim else "")
    if reason:
        text.append(f" ({reason})", style="dim")
    return text


def _section(title: str, lines: Iterable[Text], *, style: str = "bold") -> list[RenderableType]:
    body = list(lines)
    return [Text(title, style=style), *body, Text("")] if body else []


def render_plan(plan: face.Plan, *, nodes: bool = True) -> RenderableType:
    """The whole plan: warnings, sections, the summary line. Without ``nodes`` the nodes
    that did not answer are left to the apply result that follows, so each is told once."""
    parts = sections(plan)
    out: list[RenderableType] = [*warnings(plan, nodes=nodes)]
    if out:
        out.append(Text(""))
    out += _section("Objects", (
        _line(_OBJECT_SIGNS[a.kind][0], _OBJECT_SIGNS[a.kind][1],
              f"{a.kind.value} {describe_ref(a.target)}", a.reason)
        for a in parts.objects
    ))
    out += _section("Pods", [
        *(_line("+", "green", f"start {pod_name(a.target)} on {a.node or '?'}", a.reason)
          for a in parts.starts),
        *(_line("-", "red", f"stop {pod_name(a.target)} on {a.node or '?'}", a.reason)
          for a in parts.stops),
        *(_line("→", "cyan", f"bind {pod_name(a.target)} to {a.node or '?'}", a.reason)
          for a in parts.binds),
    ])
    out += _section("Unschedulable", grouped_lines(parts.unschedulable, lambda a: _line(
        "!", "bold red", f"{pod_name(a.target)}: {unschedulable_message(a)}")))
    out += _section("Up to date", (
        _line("=", "dim", f"{describe_ref(a.target)}: {a.reason}", dim=True) for a in parts.noops
    ), style="bold dim")
    out.append(Text(summary_line(plan), style="bold"))
    return Group(*out)


def grouped_lines(actions: Iterable[Action], line: Callable[[Action], Text]) -> list[Text]:
    """``line`` of each action, in order, except that many pods of one owner stuck for one
    reason are one line (``replicas: 100000`` on a small node must not print a screen per
    pod), where the first of them was."""
    actions = list(actions)
    groups: dict[tuple[str, str], list[Action]] = {}
    for action in actions:
        message = unschedulable_message(action)
        owner = _owner(action) if message else ""
        if owner:
            groups.setdefault((owner, message), []).append(action)
    big = {id(a): key for key, group in groups.items() if len(group) >= GROUP_AT for a in group}
    lines: list[Text] = []
    told: set[tuple[str, str]] = set()
    for action in actions:
        key = big.get(id(action))
        if key is None:
            lines.append(line(action))
        elif key not in told:
            told.add(key)
            group = groups[key]
            lines.append(_line("!", "bold red", f"{len(group)} pods of {key[0]} "
                                                f"({pod_name(action.target)} and "
                                                f"{len(group) - 1} more): {key[1]}"))
    return lines


def _owner(action: Action) -> str:
    """``replicaset default/web-7d4b9c``: the controller of the action's pod, or ""."""
    ref = action.obj.controller_ref() if action.obj is not None else None
    if ref is None:
        return ""
    namespace = f"{action.target.namespace}/" if action.target.namespace else ""
    return f"{ref.kind.lower()} {namespace}{ref.name}"


def render_applied(action: Action) -> Text:
    """One line for an action apply carried out, in the past tense."""
    if action.kind is ActionKind.START:
        return _line("+", "green", f"started {pod_name(action.target)} on {action.node or '?'}")
    if action.kind is ActionKind.STOP:
        return _line("-", "red", f"stopped {pod_name(action.target)} on {action.node or '?'}")
    if action.kind is ActionKind.BIND:
        return _line("→", "cyan", f"bound {pod_name(action.target)} to {action.node or '?'}")
    stuck = unschedulable_message(action)
    if stuck:
        return _line("!", "bold red", f"{pod_name(action.target)} is unschedulable", stuck)
    sign, style = _OBJECT_SIGNS.get(action.kind, ("=", "dim"))
    verb = {ActionKind.CREATE: "created", ActionKind.UPDATE: "updated",
            ActionKind.DELETE: "deleted"}.get(action.kind, action.kind.value)
    return _line(sign, style, f"{verb} {describe_ref(action.target)}")


def render_result(result: face.PassResult) -> RenderableType:
    """What ``apply`` did: applied actions, errors, the status commit, the summary."""
    out: list[RenderableType] = []
    out += _section("Applied", grouped_lines((a for a in result.applied if a.is_change),
                                             render_applied))
    out += _section("Errors", (Text(f"  {e}", style="red") for e in result.errors),
                    style="bold red")
    seconds = (result.finished_at - result.started_at).total_seconds()
    if result.status_commit:
        out.append(Text(f"Status committed to gitkube/status at "
                        f"{render.short_sha(result.status_commit)}."))
    problems = result.plan.problems
    if problems:
        out.append(Text(
            f"The newest commit {render.short_sha(result.plan.attempted_revision)} was not "
            f"applied: it has {render.plural(len(problems), 'problem')} "
            "(`gitkube validate` lists them).", style="yellow"))
    verdict = ("Apply failed" if result.errors else
               "Apply incomplete" if problems else "Apply complete")
    summary = result.summary or ("nothing to do" if not result.changed else "")
    line = Text(f"{verdict} in {seconds:.1f}s: ", style="bold" if result.ok else "bold red")
    line.append(summary or "done", style="")
    out.append(line)
    return Group(*out)

