"""Agreement between two people's namings of one category (definitions §6, RQ3).

Jaccard of the named sets, D-family agreement of the concepts, tables over annotator pairs,
and the linguistic compatibility of matched names (the formative study's Tables 5 and 6).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._progress import progress
from .dfamily import dfamily_matching
from .namings import MIN_SIZE, iter_namings, named_concepts, single_naming

MEASURES = ("agreement_d1", "agreement_d2", "jaccard")
JUDGMENTS = ("exact", "subset", "incompatible")


@dataclass
class DFamilyResult:
    """A best D-family matching between the concepts of namings a and b."""

    D: int
    score: float
    """Total weight (shared activations) of the edges inside the matched groups."""
    n_common: int
    """|A_a ∩ A_b|: activations both people named."""
    groups: list[tuple[list[str], list[str]]]
    """Matched concept groups, each (concept ids of a, concept ids of b)."""
    intersection: pd.DataFrame = field(repr=False)
    """|C ∩ C'| for every concept C of a (rows) and C' of b (columns)."""
    names_a: dict = field(repr=False, default_factory=dict)
    names_b: dict = field(repr=False, default_factory=dict)

    @property
    def agreement(self) -> float:
        """score / |A_a ∩ A_b|; NaN when they share no named activation."""
        return self.score / self.n_common if self.n_common else float("nan")


def _named_sets(a, b, activations, min_size):
    concepts_a, names_a = named_concepts(a, activations, min_size=min_size)
    concepts_b, names_b = named_concepts(b, activations, min_size=min_size)
    _, _, cat_a = single_naming(a)
    _, _, cat_b = single_naming(b)
    if cat_a != cat_b:
        raise ValueError(f"Cannot compare namings of different categories ({cat_a!r} and {cat_b!r}).")
    return concepts_a, names_a, concepts_b, names_b


def jaccard(a, b, activations=None, *, min_size: int = MIN_SIZE) -> float:
    """|A_a ∩ A_b| / |A_a ∪ A_b| of two namings of one category (NaN when both name nothing)."""
    concepts_a, _, concepts_b, _ = _named_sets(a, b, activations, min_size)
    union = concepts_a.index.union(concepts_b.index)
    return len(concepts_a.index.intersection(concepts_b.index)) / len(union) if len(union) else float("nan")


def intersection_matrix(concepts_a: pd.Series, concepts_b: pd.Series, ids_a=None, ids_b=None) -> pd.DataFrame:
    """|C ∩ C'| for concept maps activation_id -> concept_id of two namings."""
    ids_a = sorted(set(concepts_a)) if ids_a is None else list(ids_a)
    ids_b = sorted(set(concepts_b)) if ids_b is None else list(ids_b)
    common = concepts_a.index.intersection(concepts_b.index)
    row = pd.Index(ids_a).get_indexer(concepts_a.loc[common])
    col = pd.Index(ids_b).get_indexer(concepts_b.loc[common])
    counts = np.zeros((len(ids_a), len(ids_b)), dtype=np.int64)
    np.add.at(counts, (row, col), 1)
    return pd.DataFrame(counts, index=pd.Index(ids_a, name="concept_a"), columns=pd.Index(ids_b, name="concept_b"))


def dfamily_agreement(a, b, D: int = 1, activations=None, *, min_size: int = MIN_SIZE) -> DFamilyResult:
    """The best D-family matching of two namings' concepts and its agreement (exact for every D)."""
    concepts_a, names_a, concepts_b, names_b = _named_sets(a, b, activations, min_size)
    inter = intersection_matrix(concepts_a, concepts_b, sorted(names_a), sorted(names_b))
    match = dfamily_matching(inter.to_numpy(), D)
    groups = [([inter.index[r] for r in rows], [inter.columns[c] for c in cols]) for rows, cols in match.groups]
    return DFamilyResult(D=D, score=match.score, n_common=len(concepts_a.index.intersection(concepts_b.index)),
                         groups=groups, intersection=inter, names_a=names_a, names_b=names_b)


def _parse_measure(name: str) -> int | None:
    """None for 'jaccard', D for 'agreement_d<D>'; a clear error for anything else."""
    if name == "jaccard":
        return None
    suffix = name[len("agreement_d"):] if name.startswith("agreement_d") else ""
    if suffix.isdigit() and int(suffix) >= 1:
        return int(suffix)
    raise ValueError(f"Unknown measure {name!r}; use 'jaccard' or 'agreement_d<D>' such as 'agreement_d2'.")


def _encode(prepared: list[tuple]) -> list[np.ndarray]:
    """Each naming of one category as concept codes over the category's named activations.

    ``prepared`` holds (concept_of, names) per annotator; the result gives, per annotator,
    an int array over the union of named activations: the index of its concept in
    ``sorted(names)``, or -1 where that annotator left the activation unnamed. Comparing two
    annotators is then a few array operations instead of pandas index work per pair.
    """
    universe = pd.Index(sorted(set().union(*(set(concept_of.index) for concept_of, _ in prepared))))
    codes = []
    for concept_of, names in prepared:
        code = np.full(len(universe), -1, dtype=np.int64)
        code[universe.get_indexer(concept_of.index)] = pd.Index(sorted(names)).get_indexer(concept_of.to_numpy())
        codes.append(code)
    return codes


def _pair_measures(code_a: np.ndarray, code_b: np.ndarray, n_a: int, n_b: int, measures: list) -> dict:
    """Every measure of one annotator pair from their concept codes (see :func:`_encode`)."""
    named_a, named_b = code_a >= 0, code_b >= 0
    both = named_a & named_b
    n_common, n_union = int(both.sum()), int((named_a | named_b).sum())
    inter = np.bincount(code_a[both] * n_b + code_b[both], minlength=n_a * n_b).reshape(n_a, n_b)
    out = {}
    for name, D in measures:
        if D is None:
            out[name] = n_common / n_union if n_union else float("nan")
        else:
            out[name] = dfamily_matching(inter, D).score / n_common if n_common else float("nan")
    return out


def pairwise_scores(namings, activations=None, *, measures=MEASURES, min_size: int = MIN_SIZE,
                    progress_bar: bool | None = None) -> pd.DataFrame:
    """Every measure for every unordered annotator pair of every category (long table).

    The values equal :func:`jaccard` and ``dfamily_agreement(...).agreement`` of each pair;
    each naming is cleaned and encoded once, not once per pair.
    """
    parsed = [(name, _parse_measure(name)) for name in measures]  # fail early on unknown names
    by_category: dict[str, list[tuple[str, tuple]]] = {}
    for annotator, category, table in iter_namings(namings):
        prepared = named_concepts(table, activations, min_size=min_size)
        by_category.setdefault(category, []).append((annotator, prepared))
    jobs = []
    for category, items in sorted(by_category.items()):
        codes = _encode([prepared for _, prepared in items])
        sizes = [len(names) for _, (_, names) in items]
        for i, j in itertools.combinations(range(len(items)), 2):
            jobs.append((category, items[i][0], items[j][0], codes[i], codes[j], sizes[i], sizes[j]))
    rows = []
    for category, ann_a, ann_b, code_a, code_b, n_a, n_b in progress(
            jobs, desc="annotator pairs", disable=None if progress_bar else True):
        rows.append({"category": category, "annotator_a": ann_a, "annotator_b": ann_b,
                     **_pair_measures(code_a, code_b, n_a, n_b, parsed)})
    return pd.DataFrame(rows, columns=["category", "annotator_a", "annotator_b", *measures])


def pairwise_table(namings, activations=None, *, measures=MEASURES, min_size: int = MIN_SIZE,
                   progress_bar: bool | None = None) -> pd.DataFrame:
    """Per category: mean, std (ddof = 0), min, max of each measure over annotator pairs.

    Rows are a (category, statistic) MultiIndex, as in the papers' tables, followed by a
    ("global average", "mean") row: the mean of the per-category means. NaN pairs are skipped.
    """
    scores = pairwise_scores(namings, activations, measures=measures, min_size=min_size, progress_bar=progress_bar)
    measures = list(measures)
    grouped = scores.groupby("category")[measures]
    stats = {"mean": grouped.mean(), "std": grouped.std(ddof=0), "min": grouped.min(), "max": grouped.max()}
    table = pd.concat(stats, names=["statistic", "category"]).swaplevel().sort_index(
        level=0, sort_remaining=False)
    table = table.reindex(pd.MultiIndex.from_product([sorted(scores["category"].unique()), list(stats)],
                                                     names=["category", "statistic"]))
    table.loc[("global average", "mean"), :] = stats["mean"].mean().to_numpy()
    return table


def format_pairwise_table(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The papers' layout: per category rows min, average (mean±std) and max, as text."""
    rows = {}
    for category in dict.fromkeys(table.index.get_level_values(0)):
        part = table.loc[category]
        if category == "global average":
            rows[(category, "")] = part.loc["mean"].map(lambda v: f"{v:.{digits}f}")
            continue
        rows[(category, "min")] = part.loc["min"].map(lambda v: f"{v:.{digits}f}")
        rows[(category, "average")] = [f"{m:.{digits}f}±{s:.{digits}f}" for m, s in zip(part.loc["mean"], part.loc["std"])]
        rows[(category, "max")] = part.loc["max"].map(lambda v: f"{v:.{digits}f}")
    out = pd.DataFrame(rows).T
    out.columns = table.columns
    return out


def matched_names(a, b, D: int = 1, activations=None, *, min_size: int = MIN_SIZE) -> pd.DataFrame:
    """Every edge inside the best D-family matching: its two concepts, their names, its weight."""
    result = dfamily_agreement(a, b, D, activations, min_size=min_size)
    rows = []
    for group, (ids_a, ids_b) in enumerate(result.groups):
        for ca, cb in itertools.product(ids_a, ids_b):
            weight = int(result.intersection.loc[ca, cb])
            if weight > 0:
                rows.append({"group": group, "concept_a": ca, "name_a": result.names_a[ca],
                             "concept_b": cb, "name_b": result.names_b[cb], "weight": weight})
    return pd.DataFrame(rows, columns=["group", "concept_a", "name_a", "concept_b", "name_b", "weight"])


def linguistic_compatibility(matches: pd.DataFrame, judgments) -> pd.Series:
    """Weighted fractions of matched name pairs a person judged exact, subset or incompatible.

    ``matches`` comes from :func:`matched_names` (several can be concatenated); ``judgments``
    is a DataFrame with ``name_a``, ``name_b``, ``judgment`` ∈ {exact, subset, incompatible}
    (or a dict (name_a, name_b) -> judgment); pairs are looked up in either order.
    ``subset`` counts exact pairs too (an exact match is also a subset match), as in the
    formative study's Table 6.
    """
    if isinstance(judgments, dict):
        judgments = pd.DataFrame([(x, y, j) for (x, y), j in judgments.items()], columns=["name_a", "name_b", "judgment"])
    bad = ~judgments["judgment"].isin(JUDGMENTS)
    if bad.any():
        raise ValueError(f"Judgments must be one of {JUDGMENTS}; got {sorted(set(judgments.loc[bad, 'judgment']))}.")
    lookup = {}
    for x, y, j in zip(judgments["name_a"], judgments["name_b"], judgments["judgment"]):
        lookup[(x, y)] = lookup[(y, x)] = j
    pairs = list(zip(matches["name_a"], matches["name_b"]))
    missing = sorted({p for p in pairs if p not in lookup})
    if missing:
        raise ValueError(f"No judgment for {len(missing)} matched name pairs, e.g. {missing[:3]}; add rows "
                         "(name_a, name_b, judgment) for them.")
    judged = np.array([lookup[p] for p in pairs])
    weight = matches["weight"].to_numpy(dtype=float)
    total = weight.sum()
    share = {j: weight[judged == j].sum() / total if total else np.nan for j in JUDGMENTS}
    return pd.Series({"exact": share["exact"], "subset": share["exact"] + share["subset"],
                      "incompatible": share["incompatible"], "total_weight": total})
