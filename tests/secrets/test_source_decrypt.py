"""Encrypted Secrets read from Git: decrypted on read, or refused with file:line and a reason."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gitkube.api import core
from gitkube.source import repo, sealing, secrets
from tests.source.source_helpers import INVENTORY, WorkRepo

from .conftest import AgeKey, age_encrypt

PLAIN = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
type: kubernetes.io/basic-auth
stringData:
  username: admin
data:
  password: aHVudGVyMg==
"""


def _encrypted_by_hand(name: str, value_for: str, public: str, value: bytes) -> str:
    """A Secret whose one value was made with the age CLI for ``value_for`` (ns/name/key)."""
    text = age_encrypt(f"gitkube:v1:{value_for}\n".encode() + value, public)
    armor = "".join(f"    {line}\n" for line in text.splitlines())
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  annotations:\n"
            f"    gitkube.io/encrypted: age\nstringData:\n  token: |\n{armor}")


def _read(work: WorkRepo, key: AgeKey | None, files: dict[str, str]) -> repo.Revision:
    sha = work.commit("secrets", {"inventory.yaml": INVENTORY, **files})
    with repo.SourceRepo(work.path, state_dir=key.state_dir if key else None) as source:
        return source.read_revision(sha)


def _secret(revision: repo.Revision, name: str) -> core.Secret:
    found = [o for o in revision.objects if isinstance(o, core.Secret) and o.name == name]
    assert found, [str(p) for p in revision.problems]
    return found[0]


def test_gitkube_secret_encrypt_output_is_decrypted_on_read(
    work_repo: WorkRepo, age_key: AgeKey,
) -> None:
    text, count = sealing.encrypt_manifest(PLAIN, [age_key.public], where="db.yaml")
    assert count == 1
    assert "hunter2" not in text and "aHVudGVyMg==" not in text and "admin" not in text
    revision = _read(work_repo, age_key, {"db.yaml": text})
    assert revision.problems == []
    secret = _secret(revision, "db")
    assert secret.decoded() == {"username": b"admin", "password": b"hunter2"}
    assert secret.type == "kubernetes.io/basic-auth"
    assert secret.metadata.annotations[secrets.ENCRYPTED_ANNOTATION] == "age"


def test_a_secret_made_with_the_age_cli_is_used(work_repo: WorkRepo, age_key: AgeKey) -> None:
    manifest = _encrypted_by_hand("api", "default/api/token", age_key.public, b"t0ken")
    revision = _read(work_repo, age_key, {"api.yaml": manifest})
    assert _secret(revision, "api").decoded() == {"token": b"t0ken"}


@pytest.mark.parametrize(
    ("value_for", "tamper", "message"),
    [
        pytest.param("default/api/token", False,
                     "api.yaml:8: stringData[token]: The ciphertext was encrypted for "
                     "default/api/token, not for default/copy/token", id="copied"),
        pytest.param("default/copy/token", True,
                     "api.yaml:8: stringData[token]: The ciphertext is not a valid age "
                     "ciphertext", id="tampered"),
    ],
)
def test_a_copied_or_tampered_ciphertext_is_refused_with_its_line(
    work_repo: WorkRepo, age_key: AgeKey, value_for: str, tamper: bool, message: str,
) -> None:
    manifest = _encrypted_by_hand("copy", value_for, age_key.public, b"t0ken")
    if tamper:
        lines = manifest.splitlines()
        last = max(i for i, line in enumerate(lines) if "END AGE" in line) - 1
        lines[last] = lines[last][:-4] + ("AAAA" if not lines[last].endswith("AAAA") else "BBBB")
        manifest = "\n".join(lines) + "\n"
    revision = _read(work_repo, age_key, {"api.yaml": manifest})
    assert not revision.objects or all(o.kind != "Secret" for o in revision.objects)
    assert any(str(p).startswith(message) for p in revision.problems), [
        str(p) for p in revision.problems]


def test_without_the_key_the_revision_is_refused(work_repo: WorkRepo, age_key: AgeKey) -> None:
    manifest = _encrypted_by_hand("api", "default/api/token", age_key.public, b"t0ken")
    revision = _read(work_repo, None, {"api.yaml": manifest})
    assert [str(p) for p in revision.problems] == [
        "api.yaml:1: This Secret is encrypted with age, but this cluster has no age key to "
        "decrypt it; run `gitkube secret keygen` where the cluster's state lives (or copy the "
        "key file there as age-identity.txt)."]


def test_a_plain_value_in_an_encrypted_secret_is_refused(
    work_repo: WorkRepo, age_key: AgeKey,
) -> None:
    manifest = _encrypted_by_hand("api", "default/api/token", age_key.public, b"t")
    line = manifest.count("\n") + 1
    manifest += "  plain: oops\n"
    revision = _read(work_repo, age_key, {"api.yaml": manifest})
    problems = [str(p) for p in revision.problems]
    assert len(problems) == 1 and problems[0].startswith(
        f"api.yaml:{line}: stringData[plain]: This value of an encrypted Secret is not an age "
        "ciphertext"), problems


@pytest.mark.parametrize("required", [True, False], ids=["required", "not-required"])
def test_policy_refuses_plain_text_secrets(
    work_repo: WorkRepo, age_key: AgeKey, required: bool,
) -> None:
    inventory = INVENTORY + f"settings:\n  requireEncryptedSecrets: {str(required).lower()}\n"
    encrypted, _ = sealing.encrypt_manifest(
        PLAIN.replace("name: db", "name: enc"), [age_key.public], where="enc.yaml")
    sha = work_repo.commit("policy", {"inventory.yaml": inventory, "db.yaml": PLAIN,
                                      "enc.yaml": encrypted})
    with repo.SourceRepo(work_repo.path, state_dir=age_key.state_dir) as source:
        revision = source.read_revision(sha)
    problems = [str(p) for p in revision.problems]
    if required:
        assert problems == [
            "db.yaml:1: This Secret is not encrypted, and the inventory's "
            "settings.requireEncryptedSecrets refuses plain-text Secrets; encrypt it with "
            "`gitkube secret encrypt FILE`."]
    else:
        assert problems == []
        assert _secret(revision, "db").decoded()["password"] == b"hunter2"
    assert _secret(revision, "enc").decoded()["password"] == b"hunter2"


def test_binary_data_round_trips(work_repo: WorkRepo, age_key: AgeKey, tmp_path: Path) -> None:
    raw = bytes(range(256))
    plain = (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: bin\n  namespace: team\n"
             f"data:\n  blob: {base64.b64encode(raw).decode()}\n")
    text, _ = sealing.encrypt_manifest(plain, [age_key.public], where="bin.yaml")
    ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"
    revision = _read(work_repo, age_key, {"bin.yaml": text, "ns.yaml": ns})
    assert _secret(revision, "bin").decoded() == {"blob": raw}
