"""The parts every object shares: the model base, ObjectMeta, owner references.

Models use Kubernetes' field names on the wire (camelCase aliases) and snake_case
attributes in Python. ``extra="forbid"`` is what turns an unknown or unsupported
field into an error that names it, instead of a silent drop.

Planners never mutate an object they were given: copy with ``model_copy(deep=True)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from gitkube.api import fields
from gitkube.api.errors import FieldIssue

#: Annotation gitkube puts on objects read from Git: "path:line" of the document.
SOURCE_ANNOTATION = "gitkube.io/source"
#: Label (on objects) and podman label (on containers) naming the owning cluster.
CLUSTER_LABEL = "io.gitkube.cluster"
POD_UID_LABEL = "io.gitkube.pod-uid"


class KubeModel(BaseModel):
    """Base for every nested part of an object."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        validate_default=False,
    )

    def to_dict(self) -> dict[str, Any]:
        """The Kubernetes JSON form: camelCase keys, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OwnerReference(KubeModel):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(KubeModel):
    name: str
    #: A name prefix; read from Git, the name it generates is stable (``registry``).
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    uid: str | None = None
    generation: fields.Int64 | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    owner_references: list[OwnerReference] = Field(default_factory=list)
    resource_version: str | None = None


class KubeObject(KubeModel):
    """A top-level object: apiVersion, kind, metadata (and, per kind, spec/status/data)."""

    #: Lowercase plural used in store keys and the CLI (``pods``, ``deployments``).
    plural: ClassVar[str] = ""
    #: False for cluster-scoped kinds (Namespace, Node).
    namespaced: ClassVar[bool] = True

    api_version: str
    kind: str
    metadata: ObjectMeta

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ("default" if self.namespaced else "")

    @property
    def key(self) -> str:
        from gitkube.api import keys

        return keys.object_key(self.plural, self.namespace, self.name)

    def check(self) -> list[FieldIssue]:
        """Rules beyond field types (names, cross-field rules); empty when the object is valid.

        Run on objects read from Git (``registry.parse_object``); objects the system
        derives or reads back from the store are trusted and not checked again.
        """
        return []

    def controller_ref(self) -> OwnerReference | None:
        for ref in self.metadata.owner_references:
            if ref.controller:
                return ref
        return None
