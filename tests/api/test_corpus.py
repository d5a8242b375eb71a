"""Real manifests from kubernetes/website: each is accepted, or rejected by name — never a crash.

The corpus is shared/corpus/k8s-website beside the checkout (see its README). Documents of kinds and
fields gitkube supports must be accepted; the rest must be refused with an issue that
names the field or kind. Run with ``-s`` to see what is accepted.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from gitkube.api import errors, registry, schemas
from tests.corpus import CORPUS

#: Broken upstream at the recorded commit (INDEX.tsv marks them NEGATIVE).
NEGATIVE = {
    "pods/inject/pod-multiple-secret-env-variable.yaml",
    "pods/inject/pod-single-secret-env-variable.yaml",
    "pods/pod-with-node-affinity.yaml",
}
MUST_ACCEPT = {
    "pods/probe/exec-liveness.yaml", "pods/probe/http-liveness.yaml",
    "pods/probe/pod-with-http-healthcheck.yaml", "pods/probe/pod-with-tcp-socket-healthcheck.yaml",
    "pods/probe/tcp-liveness-readiness.yaml",
    "controllers/nginx-deployment.yaml", "controllers/frontend.yaml", "pods/pod-nginx.yaml",
    "configmap/configmaps.yaml", "configmap/configure-pod.yaml",
    "configmap/immutable-configmap.yaml", "configmap/configmap-multikeys.yaml",
    "pods/pod-configmap-envFrom.yaml", "pods/pod-configmap-env-var-valueFrom.yaml",
    "pods/pod-configmap-volume-specific-key.yaml", "pods/pod-single-configmap-env-variable.yaml",
    "pods/config/redis-pod.yaml", "pods/inject/secret.yaml", "pods/inject/secret-pod.yaml",
    "pods/inject/secret-envars-pod.yaml", "pods/inject/pod-secret-envFrom.yaml",
    "secret/basicauth-secret.yaml", "secret/dockercfg-secret.yaml",
    "secret/serviceaccount-token-secret.yaml",
    "secret/dotfile-secret.yaml", "admin/namespace-dev.yaml", "pods/pod-with-toleration.yaml",
    "application/guestbook/frontend-deployment.yaml",
    "application/guestbook/redis-leader-deployment.yaml",
    "application/deployment-retainkeys.yaml", "pods/resource/memory-request-limit.yaml",
    "pods/resource/cpu-request-limit.yaml", "service/access/backend-deployment.yaml",
    # Init containers, sidecars and emptyDir.
    "application/deployment-sidecar.yaml", "application/job/indexed-job.yaml",
    "application/job/job-sidecar.yaml", "pods/init-containers.yaml",
    # securityContext, lifecycle hooks, the downward API.
    "pods/security/security-context.yaml", "pods/lifecycle-events.yaml",
    "service/pod-with-graceful-termination.yaml", "pods/inject/dapi-envars-container.yaml",
    "pods/inject/dapi-volume.yaml",
    # Services: ClusterIP, headless, NodePort, LoadBalancer, named target ports.
    "application/guestbook/frontend-service.yaml",
    "application/guestbook/redis-leader-service.yaml", "application/mysql/mysql-services.yaml",
    "application/nginx-app.yaml", "application/php-apache.yaml",
    "service/access/backend-service.yaml", "service/access/frontend-service.yaml",
    "service/networking/dual-stack-preferred-svc.yaml",
    "service/networking/nginx-secure-app.yaml", "service/simple-service.yaml",
    # StatefulSets, PersistentVolumeClaims (the mysql app whole, with its Services).
    "application/mysql/mysql-statefulset.yaml", "application/mysql/mysql-configmap.yaml",
    "pods/storage/pv-pod.yaml", "controllers/statefulset.yaml",
    # DaemonSets (with hostPath volumes).
    "controllers/daemonset.yaml", "controllers/fluentd-daemonset-update.yaml",
}

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")


def _documents() -> list[tuple[str, int, Any]]:
    """(file, document index, document or the YAML error) for every corpus document."""
    out: list[tuple[str, int, Any]] = []
    for path in sorted(CORPUS.rglob("*.yaml")):
        name = path.relative_to(CORPUS).as_posix()
        try:
            docs = [d for d in YAML(typ="safe").load_all(path.read_text()) if d is not None]
        except YAMLError as exc:
            assert name in NEGATIVE, f"{name} is not valid YAML: {exc}"
            out.append((name, 0, exc))
            continue
        out += [(name, i, doc) for i, doc in enumerate(docs)]
    return out


DOCUMENTS = _documents()
ALL_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((schemas.DEFAULT_DIR / "all.json").read_text()))


def _outcome(doc: Any) -> tuple[bool, str]:
    try:
        obj = registry.parse_object(doc)
    except errors.ObjectInvalid as exc:
        return False, str(exc)
    return True, f"{obj.kind} {obj.namespace}/{obj.name}"


@pytest.mark.parametrize(("name", "index", "doc"), DOCUMENTS,
                         ids=[f"{n}#{i}" for n, i, _ in DOCUMENTS])
def test_document_is_accepted_or_rejected_by_name(name: str, index: int, doc: Any) -> None:
    if isinstance(doc, YAMLError):
        return  # a NEGATIVE file the YAML reader refuses; the source layer reports it
    try:
        accepted, detail = _outcome(doc)
    except Exception as exc:  # pragma: no cover - what this test exists to catch
        pytest.fail(f"{name}#{index} crashed parse_object: {type(exc).__name__}: {exc}")
    if name in MUST_ACCEPT:
        assert accepted, detail
    if accepted:
        # What gitkube accepts, the editors' schema accepts too.
        ALL_SCHEMA.validate(doc)
        return
    with pytest.raises(errors.ObjectInvalid) as caught:
        registry.parse_object(doc)
    assert caught.value.issues
    for issue in caught.value.issues:
        assert issue.message
        assert issue.path or "kind" in issue.message, issue


def test_negative_files_are_refused() -> None:
    for name, _, doc in DOCUMENTS:
        if name in NEGATIVE:
            assert isinstance(doc, YAMLError) or not _outcome(doc)[0], name


@pytest.mark.parametrize(("name", "path", "message"), [
    ("application/job/cronjob.yaml", "apiVersion",
     "apiVersion batch/v1beta1 is not served for kind CronJob; use batch/v1"),
    ("secret/tls-auth-secret.yaml", "data[tls.crt]",
     "is not valid base64; encode the value (base64 -w0) or put it under stringData instead"),
    ("pods/storage/projected.yaml", "spec.volumes[0].projected",
     "field 'projected' is not supported by gitkube yet"),
    ("pods/inject/pod-single-secret-env-variable.yaml", "apiVersion",
     "field 'apiVersion' is required (for a Pod: v1)"),
    ("pods/probe/grpc-liveness.yaml", "spec.containers[0].livenessProbe.gRPC",
     "unknown field 'gRPC' (check its spelling and indentation)"),
])
def test_rejections_a_user_sees(name: str, path: str, message: str) -> None:
    found = {}
    for doc_name, _, doc in DOCUMENTS:
        if doc_name == name:
            try:
                registry.parse_object(doc)
            except errors.ObjectInvalid as exc:
                found.update({i.path: i.message for i in exc.issues})
    assert found.get(path) == message, found


def test_print_coverage() -> None:
    """Not an assertion: the accepted/rejected table, to judge coverage (pytest -s)."""
    accepted = 0
    for name, index, doc in DOCUMENTS:
        if isinstance(doc, YAMLError):
            print(f"YAML  {name}: {type(doc).__name__}")
            continue
        ok, detail = _outcome(doc)
        accepted += ok
        print(f"{'OK ' if ok else 'NO '}  {name}#{index}: {detail}")
    print(f"{accepted} of {len(DOCUMENTS)} documents accepted")
