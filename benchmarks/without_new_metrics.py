"""Turn a checkout into the default workflow without issue 19's metrics, to time their cost.

Usage: python benchmarks/without_new_metrics.py DIR, where DIR is a fresh ``git worktree``
(it edits files there). Then ``snakemake --cores all`` in DIR and in an unpatched worktree
of the same commit give the whole default run's time with and without: the KID and
precision/recall columns of the quality and auto-encoder tables, ``tables/path-length``
and ``figures/path-length-profile``, the claims that read them and docs/results.md.j2's
section on them. Each edit checks that its text is there, so the script fails, rather than
measuring something else, once the code it patches changes (benchmarks/README.md, "Whole
runs").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

EDITS = [
    ("src/latentspace/evaluation.py",
     '"classifier": ("fid_classifier", "is_classifier", "kid_classifier", "precision_classifier", "recall_classifier")',
     '"classifier": ("fid_classifier", "is_classifier")'),
    ("src/latentspace/evaluation.py",
     '"inception": ("fid_inception", "kid_inception", "precision_inception", "recall_inception")',
     '"inception": ("fid_inception",)'),
    ("src/latentspace/autoencoders.py",
     'if f"kid_{first_extractor}" in metrics.METRICS else []', "if False else []"),
    ("rules/metrics.smk",
     'PATH_LENGTH_MODELS = MET["midpoint_quality"]["models"] if PATH_EXTRACTOR else []', "PATH_LENGTH_MODELS = []"),
]
NEW_METRIC_CLAIM = re.compile(r"table: path-length|metric: (kid|precision|recall)\b")


def patch(root: Path) -> None:
    for path, old, new in EDITS:
        file = root / path
        text = file.read_text()
        if old not in text:
            raise SystemExit(f"{file}: the text to replace is gone; update {__file__}")
        file.write_text(text.replace(old, new))
    registry = root / "workflow" / "claims.yaml"
    blocks = re.split(r"(?m)^(?=  - id: )", registry.read_text())
    kept = [b for b in blocks if not (b.startswith("  - id: ") and NEW_METRIC_CLAIM.search(b))]
    registry.write_text("".join(kept))
    template = root / "docs" / "results.md.j2"
    text = template.read_text()
    start, end = text.index("## Beyond the papers' anchors"), text.index('{% if "cpu-full" in tiers')
    template.write_text(text[:start] + text[end:])
    print(f"{root}: {len(EDITS)} edits, {len(blocks) - len(kept)} claims and the template's section removed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    patch(Path(sys.argv[1]))
