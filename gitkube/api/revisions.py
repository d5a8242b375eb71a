"""ControllerRevision (``apps/v1``): one pod template a DaemonSet or StatefulSet has rolled out.

Kubernetes keeps a workload's history as ControllerRevisions owned by it: ``data`` holds
the template as the patch that restores it (``{"spec": {"template": {..., "$patch":
"replace"}}}``) and ``revision`` counts up, so a StatefulSet can recreate a pod of its
*current* revision while it rolls to the update revision, and a rollback reuses the old
revision's name. The controllers make them (``controllers/revisions.py``); people do not
write them in Git.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from gitkube.api import pods
from gitkube.api.meta import KubeObject

#: The label of a revision (and of the pods made from it) that names its hash.
REVISION_HASH_LABEL = "controller-revision-hash"
#: The label ``history.NewControllerRevision`` puts on every revision.
HASH_LABEL = "controller.kubernetes.io/hash"


class ControllerRevision(KubeObject):
    plural: ClassVar[str] = "controllerrevisions"

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ControllerRevision"] = "ControllerRevision"
    data: dict[str, Any] = Field(default_factory=dict)
    revision: int = 0

    def template(self) -> pods.PodTemplateSpec:
        """The pod template this revision restores."""
        template = dict((self.data.get("spec") or {}).get("template") or {})
        template.pop("$patch", None)
        return pods.PodTemplateSpec.model_validate(template)


def revision_data(template: pods.PodTemplateSpec) -> dict[str, Any]:
    """The ``data`` of a revision of ``template`` (Kubernetes' ``getPatch``)."""
    return {"spec": {"template": {**template.to_dict(), "$patch": "replace"}}}
