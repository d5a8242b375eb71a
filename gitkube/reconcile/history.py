"""Deployment revisions and rollback the GitOps way: Git stays the truth.

``revisions`` lists a Deployment's ReplicaSets with their revision numbers (as
``kubectl rollout history`` does), each with the Git commit that introduced its pod
template: the ReplicaSet remembers the commit reconciled when it was made
(``gitkube.io/source-revision``), and the history of the source branch is walked back
from there while the Deployment's template stays the same.

``rollback`` does not touch the store. Like ``kubectl rollout undo`` it puts an old
revision's pod template back into the Deployment, but it does so in Git: the
template as it was written at that revision is copied into the manifest file as it
is now (comments and formatting kept), and committed to the source branch with
compare-and-swap. The next pass rolls it out like any other change. A work tree with
the branch checked out is updated too, and refused when that file has local edits.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML

from gitkube import errors
from gitkube.api import apps
from gitkube.api.meta import SOURCE_ANNOTATION, KubeObject
from gitkube.controllers import deployments
from gitkube.source import edits, plumbing
from gitkube.source import repo as source_repo

#: How far back the source branch is searched for the commit that introduced a template.
MAX_WALK = 50


@dataclass(frozen=True)
class Revision:
    number: int
    replicaset: str
    images: list[str]
    replicas: int
    current: bool
    #: The commit that introduced this pod template ("" when not known).
    commit: str = ""
    #: kubernetes.io/change-cause when set, else the commit's subject.
    change_cause: str = ""


@dataclass(frozen=True)
class RollbackResult:
    commit: str
    revision: int
    path: str
    message: str


def require_deployment(found: KubeObject | None, name: str, namespace: str) -> apps.Deployment:
    """``found`` (the store's deployment/``name``), or the sentence for its absence."""
    if not isinstance(found, apps.Deployment):
        raise errors.ConfigError(
            f"There is no deployment/{name} in namespace {namespace} in the store; check the "
            "name (`gitkube get deployments`) or run a pass first.")
    return found


def revisions(source: source_repo.SourceRepo, deployment: apps.Deployment,
              replicasets: Iterable[KubeObject]) -> list[Revision]:
    """The Deployment's revisions (from the store's ``replicasets``), oldest first."""
    owned = [rs for rs in replicasets if isinstance(rs, apps.ReplicaSet)
             and (ref := rs.controller_ref()) is not None and ref.uid == deployment.metadata.uid]
    owned.sort(key=deployments.revision_of)
    newest = max((deployments.revision_of(rs) for rs in owned), default=0)
    out = []
    for rs in owned:
        commit = introducing_commit(source, deployment, rs)
        cause = rs.metadata.annotations.get("kubernetes.io/change-cause") or (
            source.commit_subject(commit) if commit else "")
        out.append(Revision(
            number=deployments.revision_of(rs), replicaset=rs.name,
            images=[c.image for c in rs.spec.template.spec.containers],
            replicas=rs.spec.replicas, current=deployments.revision_of(rs) == newest,
            commit=commit, change_cause=cause,
        ))
    return out


def introducing_commit(source: source_repo.SourceRepo, deployment: apps.Deployment,
                       rs: apps.ReplicaSet) -> str:
    """The oldest commit, walking back from the one the ReplicaSet was made at, whose
    Deployment template is the same as there."""
    start = rs.metadata.annotations.get(deployments.SOURCE_REVISION_ANNOTATION)
    if not start:
        return ""
    wanted: dict[str, Any] | None = None
    found = ""
    for sha in plumbing.first_parents(source.path, start, MAX_WALK):
        template = _template_at(source, sha, deployment)
        if wanted is None:
            wanted = template
        if template is None or template != wanted:
            break
        found = sha
    return found


def _template_at(source: source_repo.SourceRepo, sha: str, deployment: apps.Deployment,
                 ) -> dict[str, Any] | None:
    revision = source.read_revision(sha)
    for obj in revision.objects:
        if obj.key == deployment.key and isinstance(obj, apps.Deployment):
            return obj.spec.template.to_dict()
    return None


def rollback(source: source_repo.SourceRepo, branch: str, deployment: apps.Deployment,
             replicasets: Iterable[KubeObject], to_revision: int | None = None,
             ) -> RollbackResult:
    """Commit revision ``to_revision`` (default: the one before the newest) to ``branch``."""
    name = deployment.name
    known = revisions(source, deployment, replicasets)
    if not known:
        raise errors.ConfigError(f"deployment/{name} has no revisions yet; run a pass first.")
    newest = max(r.number for r in known)
    if to_revision is None:
        older = [r.number for r in known if r.number < newest]
        if not older:
            raise errors.ConfigError(
                f"deployment/{name} has no revision before {newest} to roll back to.")
        to_revision = max(older)
    target = next((r for r in known if r.number == to_revision), None)
    if target is None:
        listed = ", ".join(str(r.number) for r in known)
        raise errors.ConfigError(
            f"deployment/{name} has no revision {to_revision}; it has {listed} "
            f"(see `gitkube history deployment/{name}`).")
    if not target.commit:
        raise errors.ConfigError(
            f"Revision {to_revision} of deployment/{name} records no Git commit (it predates "
            "this gitkube); put its template back by hand and commit.")
    old_path = _declared_path(source, target.commit, deployment)
    head = source.resolve(branch)
    path = _declared_path(source, head, deployment)
    template = _yaml_template(plumbing.show(source.path, target.commit, old_path), deployment)
    current = plumbing.show(source.path, head, path)
    updated = _replace_template(current, deployment, template)
    if updated == current:
        raise errors.ConfigError(
            f"deployment/{name} in {path} already has the template of revision {to_revision}.")
    subject = source.commit_subject(target.commit)
    message = (f"Roll back deployment/{name} to revision {to_revision}\n\n"
               f"Revision {to_revision} ({target.replicaset}) was introduced by "
               f"{target.commit[:12]} \"{subject}\".\nWritten by `gitkube rollback`.\n")
    sha = edits.commit_file(source.path, branch, head, path, updated, message)
    return RollbackResult(commit=sha, revision=to_revision, path=path, message=message)


def _declared_path(source: source_repo.SourceRepo, sha: str,
                   deployment: apps.Deployment) -> str:
    revision = source.read_revision(sha)
    for obj in revision.objects:
        if obj.key == deployment.key:
            where = obj.metadata.annotations.get(SOURCE_ANNOTATION, "")
            return where.rsplit(":", 1)[0]
    raise errors.ConfigError(
        f"deployment/{deployment.name} is not declared at commit {sha[:12]}; a rollback needs "
        "the Deployment in Git.")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)  # the style of Kubernetes' own examples
    return yaml


def _find_doc(docs: list[Any], deployment: apps.Deployment) -> Any:
    for doc in docs:
        meta = doc.get("metadata") or {} if isinstance(doc, dict) else {}
        if (isinstance(doc, dict) and doc.get("kind") == "Deployment"
                and meta.get("name") == deployment.name
                and (meta.get("namespace") or "default") == deployment.namespace):
            return doc
    raise errors.ConfigError(f"deployment/{deployment.name} is not in the file it was read from.")


def _yaml_template(text: str, deployment: apps.Deployment) -> Any:
    return _find_doc(list(_yaml().load_all(text)), deployment)["spec"]["template"]


def _replace_template(text: str, deployment: apps.Deployment, template: Any) -> str:
    yaml = _yaml()
    docs = list(yaml.load_all(text))
    _find_doc(docs, deployment)["spec"]["template"] = template
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue()
