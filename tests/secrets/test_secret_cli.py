"""``gitkube secret keygen`` and ``gitkube secret encrypt`` as a person runs them."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from rich.console import Console

from gitkube.cli import main
from gitkube.source import secrets

from .conftest import age_decrypt

PLAIN = """\
# the database's credentials
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: hunter2   # rotate every quarter
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: untouched
data:
  a: "1"
"""


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main.main(list(argv), out=Console(file=out, width=100),
                     err=Console(file=err, width=100))
    return code, out.getvalue(), err.getvalue()


def test_keygen_then_encrypt_in_place(tmp_path: Path) -> None:
    repo = tmp_path / "cluster"
    assert _run("init", str(repo))[0] == 0
    code, out, _ = _run("--repo", str(repo), "secret", "keygen")
    assert code == 0
    public = out.strip()
    assert public.startswith("age1")
    key = repo / ".git" / "gitkube" / secrets.IDENTITY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert _run("--repo", str(repo), "secret", "keygen", "--show")[1].strip() == public
    again = _run("--repo", str(repo), "secret", "keygen")
    assert again[0] != 0 and "already holds this cluster's age key" in again[2]

    manifest = repo / "db.yaml"
    manifest.write_text(PLAIN)
    code, _, err = _run("secret", "encrypt", str(manifest), "-i", "--repo", str(repo))
    assert code == 0, err
    text = manifest.read_text()
    assert "hunter2" not in text
    assert text.startswith("# the database's credentials\n")  # the file keeps its comments
    assert "gitkube.io/encrypted: age" in text and 'a: "1"' in text
    armor = text.split("password: |\n", 1)[1].split("-----END AGE ENCRYPTED FILE-----")[0]
    armor = "\n".join(line.strip() for line in armor.splitlines()) + \
        "-----END AGE ENCRYPTED FILE-----\n"
    assert age_decrypt(armor, key) == b"gitkube:v1:shop/db/password\nhunter2"

    nothing = _run("secret", "encrypt", str(manifest), "--repo", str(repo))
    assert nothing[0] != 0 and "holds no plain Secret to encrypt" in nothing[2]


def test_encrypt_for_a_named_recipient_prints_and_leaves_the_file(tmp_path: Path) -> None:
    public = secrets.keygen(tmp_path / "elsewhere")
    manifest = tmp_path / "db.yaml"
    manifest.write_text(PLAIN)
    code, out, err = _run("secret", "encrypt", str(manifest), "--recipient", public)
    assert code == 0, err
    assert manifest.read_text() == PLAIN
    assert "BEGIN AGE ENCRYPTED FILE" in out and "hunter2" not in out + err


def test_encrypt_without_a_key_says_what_to_do(tmp_path: Path) -> None:
    repo = tmp_path / "cluster"
    _run("init", str(repo))
    manifest = tmp_path / "db.yaml"
    manifest.write_text(PLAIN)
    code, _, err = _run("--repo", str(repo), "secret", "encrypt", str(manifest))
    assert code != 0
    assert "no age key to encrypt for; run `gitkube secret keygen` first" in err
