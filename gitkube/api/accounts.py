"""ServiceAccount (``v1``): the identity a pod names in ``spec.serviceAccountName``.

On Kubernetes a service account is how a pod's processes authenticate to the API server:
kubelet mounts a token for it at ``/var/run/secrets/kubernetes.io/serviceaccount``.
gitkube has no API a pod could call, so it mounts no token (``automountServiceAccountToken``
is accepted and changes nothing); what stays is Kubernetes' admission rule: a pod naming an
account its namespace does not have is not run (the scheduler leaves it Pending with
Kubernetes' sentence). Every namespace has ``default`` without a manifest, as on
Kubernetes, where a controller makes it.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from gitkube.api import errors, validation
from gitkube.api.meta import KubeObject
from gitkube.api.pods import PodSpec

#: The account of a pod that names none; every namespace has it.
DEFAULT = "default"


class ServiceAccount(KubeObject):
    plural: ClassVar[str] = "serviceaccounts"

    api_version: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"
    #: Whether pods of this account get the API token mounted (none is: see the module).
    automount_service_account_token: bool | None = None

    def check(self) -> list[errors.FieldIssue]:
        return validation.check_metadata(self)


def account_of(spec: PodSpec) -> str:
    """The account a pod runs as: ``serviceAccountName``, else the deprecated
    ``serviceAccount`` (the API server copies it over), else ``default``."""
    return spec.service_account_name or spec.service_account or DEFAULT


def missing_account(namespace: str, name: str) -> str:
    """The ServiceAccount admission plugin's refusal, in its words."""
    return (f"error looking up service account {namespace}/{name}: serviceaccount "
            f"\"{name}\" not found")
