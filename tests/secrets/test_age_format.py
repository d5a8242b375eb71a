"""The encrypted value format, against the real ``age`` CLI in both directions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitkube import errors
from gitkube.source import secrets

from .conftest import AgeKey, age_decrypt, age_encrypt


def _unseal(text: str, key: AgeKey, name: str = "db", key_name: str = "password") -> bytes:
    keyring = secrets.Keyring.load(key.state_dir)
    assert keyring is not None
    return secrets.unseal(text, keyring.identities, namespace="default", name=name,
                          key=key_name)


def test_a_value_made_with_the_age_cli_is_accepted(age_key: AgeKey) -> None:
    text = age_encrypt(b"gitkube:v1:default/db/password\nhunter2\n", age_key.public)
    assert _unseal(text, age_key) == b"hunter2\n"


def test_a_value_gitkube_makes_is_readable_by_the_age_cli(age_key: AgeKey) -> None:
    text = secrets.seal(b"s3cret", namespace="default", name="db", key="password",
                        recipients=[age_key.public])
    assert text.startswith(secrets.ARMOR_BEGIN)
    assert age_decrypt(text, age_key.path) == b"gitkube:v1:default/db/password\ns3cret"


def test_indented_armor_as_yaml_holds_it_is_accepted(age_key: AgeKey) -> None:
    text = secrets.seal(b"x", namespace="default", name="db", key="password",
                        recipients=[age_key.public])
    indented = "".join(f"    {line}\n" for line in text.splitlines())
    assert _unseal(indented, age_key) == b"x"


@pytest.mark.parametrize(
    ("name", "key_name", "plaintext", "message"),
    [
        pytest.param("other", "password", b"gitkube:v1:default/db/password\nx",
                     "was encrypted for default/db/password, not for default/other/password",
                     id="copied-to-another-secret"),
        pytest.param("db", "token", b"gitkube:v1:default/db/password\nx",
                     "was encrypted for default/db/password, not for default/db/token",
                     id="copied-to-another-key"),
        pytest.param("db", "password", b"hunter2",
                     "decrypts, but not to gitkube's format", id="no-binding-line"),
    ],
)
def test_a_ciphertext_bound_elsewhere_is_refused(
    age_key: AgeKey, name: str, key_name: str, plaintext: bytes, message: str,
) -> None:
    text = age_encrypt(plaintext, age_key.public)
    with pytest.raises(secrets.SecretDecryptError) as caught:
        _unseal(text, age_key, name, key_name)
    assert message in str(caught.value)


def test_a_tampered_ciphertext_is_refused(age_key: AgeKey) -> None:
    text = age_encrypt(b"gitkube:v1:default/db/password\nhunter2", age_key.public)
    lines = text.splitlines()
    body = lines[-2]
    lines[-2] = body[:-4] + ("AAAA" if not body.endswith("AAAA") else "BBBB")
    with pytest.raises(secrets.SecretDecryptError) as caught:
        _unseal("\n".join(lines) + "\n", age_key)
    assert "damaged or tampered with" in str(caught.value)


def test_a_value_for_another_key_is_refused(age_key: AgeKey, tmp_path: Path) -> None:
    other = tmp_path / "other"
    public = secrets.keygen(other)
    text = age_encrypt(b"gitkube:v1:default/db/password\nx", public)
    with pytest.raises(secrets.SecretDecryptError) as caught:
        _unseal(text, age_key)
    assert "wrong recipient" in str(caught.value)


def test_keygen_writes_a_private_file_age_can_use(tmp_path: Path) -> None:
    state = tmp_path / "state"
    public = secrets.keygen(state)
    path = state / secrets.IDENTITY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    keyring = secrets.Keyring.load(state)
    assert keyring is not None and keyring.public_key == public
    text = secrets.seal(b"v", namespace="ns", name="n", key="k", recipients=[public])
    assert age_decrypt(text, path) == b"gitkube:v1:ns/n/k\nv"
    with pytest.raises(errors.ConfigError, match="already holds this cluster's age key"):
        secrets.keygen(state)


def test_no_key_and_a_broken_key_file(tmp_path: Path) -> None:
    assert secrets.Keyring.load(tmp_path) is None
    (tmp_path / secrets.IDENTITY_FILE).write_text("# comment\nAGE-SECRET-KEY-1NOPE\n")
    os.chmod(tmp_path / secrets.IDENTITY_FILE, 0o600)
    with pytest.raises(errors.ConfigError, match=r"age-identity.txt:2 is not an age secret key"):
        secrets.Keyring.load(tmp_path)


def test_a_bad_recipient_is_named() -> None:
    with pytest.raises(errors.ConfigError, match="'age1nope' is not an age public key"):
        secrets.seal(b"x", namespace="a", name="b", key="c", recipients=["age1nope"])
