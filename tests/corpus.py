"""Where the compatibility corpus of real Kubernetes manifests is.

It is ``shared/corpus/k8s-website`` beside the checkout (how CI lays it out), or wherever
``GITKUBE_CORPUS`` points.
"""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "k8s-website"
if os.environ.get("GITKUBE_CORPUS"):
    CORPUS = Path(os.environ["GITKUBE_CORPUS"])
