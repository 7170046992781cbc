"""From namings to what the papers report (definitions §6).

- namings: load and validate naming tables (``Namings``); definitions §6 cleaning in one place;
- explanations: local and global explanations;
- coverage: activation and explanation coverage, named-by-n;
- purity: CX and XC purity;
- dfamily / agreement: Jaccard, exact D-family agreement, tables over annotator pairs,
  matched names and their linguistic compatibility;
- simulate: simulated annotators and ground truth from heatmap peaks;
- assisted: simulated people naming by hand or with the widget's help, counting actions.
"""
from __future__ import annotations

from .namings import MIN_SIZE, NamingError, Namings, named_concepts
from .explanations import explanation_summary, global_explanation, local_explanations
from .coverage import ANY_ANNOTATOR, coverage, named_by_n
from .purity import Purity, purity, purity_table
from .dfamily import Matching, dfamily_matching
from .agreement import (DFamilyResult, dfamily_agreement, format_pairwise_table, intersection_matrix, jaccard,
                        linguistic_compatibility, matched_names, pairwise_scores, pairwise_table)
from .simulate import naming_docs, parts_under_peak, simulate_annotators
from .assisted import compare_assistance

__all__ = [
    "ANY_ANNOTATOR", "DFamilyResult", "MIN_SIZE", "Matching", "NamingError", "Namings", "Purity", "compare_assistance",
    "coverage",
    "dfamily_agreement", "dfamily_matching", "explanation_summary", "format_pairwise_table",
    "global_explanation", "intersection_matrix", "jaccard", "linguistic_compatibility", "local_explanations",
    "matched_names", "named_by_n", "named_concepts", "naming_docs", "pairwise_scores", "pairwise_table",
    "parts_under_peak", "purity", "purity_table", "simulate_annotators",
]
