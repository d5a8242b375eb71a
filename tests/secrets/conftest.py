"""Fixtures for the secrets tests: an age key made by the real ``age-keygen``."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.source.source_helpers import WorkRepo


@dataclass(frozen=True)
class AgeKey:
    #: A state directory holding the key as ``age-identity.txt`` (what keygen makes).
    state_dir: Path
    path: Path
    public: str


@pytest.fixture
def age_key(tmp_path: Path) -> AgeKey:
    if shutil.which("age-keygen") is None:
        pytest.skip("the age CLI is not installed (Debian package age)")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    path = state / "age-identity.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True,
                            text=True).stdout.strip()
    return AgeKey(state, path, public)


def age_encrypt(plaintext: bytes, recipient: str) -> str:
    """What a person would run: ``age -a -r RECIPIENT`` with the plaintext on stdin."""
    done = subprocess.run(["age", "-a", "-r", recipient], input=plaintext, check=True,
                          capture_output=True)
    return done.stdout.decode()


def age_decrypt(ciphertext: str, identity: Path) -> bytes:
    done = subprocess.run(["age", "-d", "-i", str(identity)], input=ciphertext.encode(),
                          check=True, capture_output=True)
    return done.stdout


@pytest.fixture
def work_repo(tmp_path: Path) -> WorkRepo:
    return WorkRepo(tmp_path / "cluster")
