"""From namings to what the papers report (SPEC §6).

- namings: load and validate naming tables (``Namings``); SPEC §6 cleaning in one place;
- explanations: local and global explanations;
- coverage: activation and explanation coverage, named-by-n;
- purity: CX and XC purity;
- dfamily / agreement: Jaccard, exact D-family agreement, tables over annotator pairs,
  matched names and their linguistic compatibility;
- simulate: simulated annotators and ground truth from heatmap peaks.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Namings": "namings", "NamingError": "namings", "named_concepts": "namings", "MIN_SIZE": "namings",
    "local_explanations": "explanations", "global_explanation": "explanations",
    "explanation_summary": "explanations",
    "coverage": "coverage", "named_by_n": "coverage", "ANY_ANNOTATOR": "coverage",
    "purity": "purity", "purity_table": "purity", "Purity": "purity",
    "dfamily_matching": "dfamily", "Matching": "dfamily",
    "jaccard": "agreement", "dfamily_agreement": "agreement", "DFamilyResult": "agreement",
    "intersection_matrix": "agreement", "pairwise_scores": "agreement", "pairwise_table": "agreement",
    "format_pairwise_table": "agreement", "matched_names": "agreement",
    "linguistic_compatibility": "agreement",
    "simulate_annotators": "simulate", "naming_docs": "simulate", "parts_under_peak": "simulate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xnaming_widget.analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return __all__
