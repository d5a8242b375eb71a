"""JSON Schemas of the manifests gitkube accepts, generated from the models.

``schemas/`` in the repository holds one schema per kind (``deployment.json``), one
for any manifest (``all.json``, a ``oneOf`` chosen by ``kind``) and one for
``inventory.yaml``. Editors use them through yaml-language-server
(``# yaml-language-server: $schema=schemas/all.json``); the models stay the truth and
``--check`` (run by the tests) fails when the files no longer match them.

    python -m gitkube.api.schemas [--check] [DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from gitkube.api import inventory, registry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"


def _finish(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


def _require_identity(schema: dict[str, Any]) -> None:
    """A manifest must say apiVersion and kind (the models default them for Python callers)."""
    required = schema.setdefault("required", [])
    for name in reversed(("apiVersion", "kind")):
        if name not in required:
            required.insert(0, name)


def build_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, for every file of ``schemas/``."""
    out: dict[str, dict[str, Any]] = {}
    models = sorted(registry.MANIFEST_KINDS.items(), key=lambda item: item[0][1])
    for (api_version, kind), cls in models:
        schema = cls.model_json_schema(by_alias=True)
        _require_identity(schema)
        title = f"{kind} ({api_version}) as gitkube accepts it"
        out[f"{kind.lower()}.json"] = _finish(schema, title)
    classes = tuple(cls for _, cls in models)
    manifest = Annotated[Union[classes], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
    combined = TypeAdapter(manifest).json_schema(by_alias=True)
    for _, kind in registry.MANIFEST_KINDS:
        _require_identity(combined["$defs"][kind])
    out["all.json"] = _finish(combined, "Any manifest gitkube accepts")
    out["inventory.json"] = _finish(
        inventory.Inventory.model_json_schema(by_alias=True), "gitkube inventory.yaml")
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def stale_files(directory: Path) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    stale = []
    for name, schema in build_schemas().items():
        path = directory / name
        if not path.exists() or path.read_text() != render(schema):
            stale.append(name)
    return stale


def write_schemas(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in build_schemas().items():
        (directory / name).write_text(render(schema))
        written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitkube.api.schemas", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file is missing or out of date")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.directory)
        if stale:
            print(f"Schemas out of date in {args.directory}: {', '.join(stale)}. "
                  "Regenerate them with: python -m gitkube.api.schemas", file=sys.stderr)
            return 1
        print(f"Schemas in {args.directory} are up to date.")
        return 0
    written = write_schemas(args.directory)
    print(f"Wrote {len(written)} schemas to {args.directory}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
