"""EndpointSlices (``discovery.k8s.io/v1``): which pod addresses stand behind a Service.

Derived, never written in Git: ``controllers/endpointslices.py`` makes them from each
Service with a selector and the pods it selects, as Kubernetes' EndpointSlice
controller does (at most 100 endpoints a slice, labelled with the Service's name and
owned by it). The nodes' share of a Service — the rules that balance traffic over the
ready endpoints, and DNS — is lowered from them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from gitkube.api.meta import KubeModel, KubeObject

#: Label naming the Service a slice belongs to.
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: Label naming the controller that manages a slice.
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
#: The EndpointSlice controller's name, as Kubernetes writes it.
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
#: Label on the slices of headless Services.
HEADLESS_LABEL = "service.kubernetes.io/headless"


class EndpointConditions(KubeModel):
    #: Serving and not terminating (or the Service publishes not-ready addresses).
    ready: bool | None = None
    #: The pod's Ready condition, terminating or not.
    serving: bool | None = None
    terminating: bool | None = None


class ObjectReference(KubeModel):
    kind: str
    namespace: str | None = None
    name: str
    uid: str | None = None


class Endpoint(KubeModel):
    addresses: list[str]
    conditions: EndpointConditions = Field(default_factory=EndpointConditions)
    #: The pod's ``hostname`` when its ``subdomain`` names this Service (DNS records).
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    node_name: str | None = None
    zone: str | None = None


class EndpointPort(KubeModel):
    #: The Service port's name ("" when it has none).
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    #: The port the endpoints listen on (a named targetPort resolved for these pods).
    port: int | None = None
    app_protocol: str | None = None


class EndpointSlice(KubeObject):
    plural: ClassVar[str] = "endpointslices"

    api_version: Literal["discovery.k8s.io/v1"] = "discovery.k8s.io/v1"
    kind: Literal["EndpointSlice"] = "EndpointSlice"
    address_type: Literal["IPv4", "IPv6", "FQDN"] = "IPv4"
    endpoints: list[Endpoint] = Field(default_factory=list)
    ports: list[EndpointPort] = Field(default_factory=list)

    @property
    def service_name(self) -> str:
        return self.metadata.labels.get(SERVICE_NAME_LABEL, "")
