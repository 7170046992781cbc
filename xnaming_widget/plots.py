"""Matplotlib figures of analysis results (the papers' figures), one function per figure.

Every function takes results from :mod:`xnaming_widget.analysis` and returns the Figure;
figures are made with pyplot, so they show inline in Jupyter (end the cell with ``;`` or
assign the result to see them once). Pass ``ax`` to draw into an existing Axes instead.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from .naming.rules import MIN_CONCEPT_SIZE


def _axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def _label(explanation) -> str:
    return " + ".join(explanation) if isinstance(explanation, tuple) else str(explanation)


def plot_global_explanation(global_table: pd.DataFrame, *, top_k: int = 8, ax=None, title: str | None = None,
                            rest_label: str = "rest"):
    """Horizontal bars of the ``top_k`` most frequent explanations (percent) plus one for the rest."""
    top = global_table.head(top_k)
    labels = [_label(e) for e in top["explanation"]]
    values = list(100 * top["fraction"].to_numpy())
    if len(global_table) > top_k:
        labels.append(rest_label)
        values.append(100 * float(global_table["fraction"].iloc[top_k:].sum()))
    fig, ax = _axes(ax, (6, 0.4 * len(labels) + 1.2))
    bars = ax.barh(np.arange(len(labels)), values, color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:.1f} %" for v in values], padding=2)
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("images (%)")
    ax.set_xlim(0, max(values + [1]) * 1.2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_coverage(coverage_table: pd.DataFrame, *, measure: str = "activation_coverage", ax=None,
                  any_annotator: str = "any annotator"):
    """Grouped bars per category: one bar per annotator and a last, darker "Any annotator" bar."""
    table = coverage_table.pivot(index="category", columns="annotator", values=measure)
    people = [a for a in table.columns if a != any_annotator] + ([any_annotator] if any_annotator in table.columns else [])
    table = table[people]
    fig, ax = _axes(ax, (max(6, 0.9 * len(table) * (len(people) + 1) / 3), 4))
    width = 0.8 / len(people)
    for k, person in enumerate(people):
        color = "0.2" if person == any_annotator else None
        label = "Any annotator" if person == any_annotator else person
        ax.bar(np.arange(len(table)) + (k - (len(people) - 1) / 2) * width, table[person].to_numpy(),
               width, label=label, color=color)
    ax.set_xticks(np.arange(len(table)), list(table.index))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(measure.replace("_", " "))
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def plot_named_by_n(named_table: pd.DataFrame, *, ax=None):
    """Stacked bars per category of the fraction of S named by exactly n annotators."""
    fig, ax = _axes(ax, (max(6, 0.6 * len(named_table)), 4))
    bottom = np.zeros(len(named_table))
    colors = __import__("matplotlib").colormaps["viridis"](np.linspace(0, 1, named_table.shape[1]))
    for color, n in zip(colors, named_table.columns):
        values = named_table[n].to_numpy(dtype=float)
        ax.bar(np.arange(len(named_table)), values, bottom=bottom, label=f"n = {n}", color=color)
        bottom += values
    ax.set_xticks(np.arange(len(named_table)), list(named_table.index))
    ax.set_ylabel("fraction of significant activations")
    ax.legend(title="named by", fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def plot_pairwise_table(table: pd.DataFrame, *, ax=None, digits: int = 2, cmap: str = "RdYlGn"):
    """A heat table: categories × measures, coloured by the mean, written as mean±std."""
    categories = [c for c in dict.fromkeys(table.index.get_level_values(0)) if c != "global average"]
    means = np.array([table.loc[(c, "mean")].to_numpy(dtype=float) for c in categories])
    stds = np.array([table.loc[(c, "std")].to_numpy(dtype=float) for c in categories])
    rows = categories + (["global average"] if "global average" in table.index.get_level_values(0) else [])
    if len(rows) > len(categories):
        means = np.vstack([means, table.loc[("global average", "mean")].to_numpy(dtype=float)])
        stds = np.vstack([stds, np.full(means.shape[1], np.nan)])
    fig, ax = _axes(ax, (1.6 * means.shape[1] + 2, 0.4 * len(rows) + 1.2))
    ax.imshow(means, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for (i, j), mean in np.ndenumerate(means):
        text = f"{mean:.{digits}f}" if np.isnan(stds[i, j]) else f"{mean:.{digits}f}±{stds[i, j]:.{digits}f}"
        ax.text(j, i, text, ha="center", va="center", fontsize="small")
    ax.set_xticks(np.arange(means.shape[1]), list(table.columns))
    ax.set_yticks(np.arange(len(rows)), rows)
    ax.xaxis.tick_top()
    fig.tight_layout()
    return fig


def plot_matching(result, *, ax=None, label_a: str = "annotator i", label_b: str = "annotator j"):
    """The intersection graph of two namings and its best D-family matching (papers' Figs 5, 7).

    Concepts of a on the left, of b on the right, with their names; every edge is drawn thin
    and grey with its weight, and the edges inside matched groups thick, one colour per group.
    """
    inter = result.intersection
    fig, ax = _axes(ax, (6, 0.5 * max(inter.shape) + 1.5))
    y_a = {c: -k for k, c in enumerate(inter.index)}
    y_b = {c: -k for k, c in enumerate(inter.columns)}
    group_of = {}
    for g, (ids_a, ids_b) in enumerate(result.groups):
        group_of.update({("a", c): g for c in ids_a} | {("b", c): g for c in ids_b})
    colors = __import__("matplotlib").colormaps["tab10"]
    for ca in inter.index:
        for cb in inter.columns:
            weight = int(inter.loc[ca, cb])
            if weight <= 0:
                continue
            g = group_of.get(("a", ca))
            matched = g is not None and g == group_of.get(("b", cb))
            ax.plot([0, 1], [y_a[ca], y_b[cb]], color=colors(g % 10) if matched else "0.8",
                    lw=3 if matched else 1, zorder=2 if matched else 1, gid="matched" if matched else "edge")
            ax.text(0.3, y_a[ca] + 0.3 * (y_b[cb] - y_a[ca]), str(weight), fontsize="small", ha="center",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
                    color="black" if matched else "0.5", gid="weight")
    ax.scatter([0] * len(y_a), list(y_a.values()), s=120, color="tab:blue", zorder=3)
    ax.scatter([1] * len(y_b), list(y_b.values()), s=120, color="tab:red", zorder=3)
    for c, y in y_a.items():
        ax.text(-0.05, y, result.names_a.get(c, c), ha="right", va="center", gid="name")
    for c, y in y_b.items():
        ax.text(1.05, y, result.names_b.get(c, c), ha="left", va="center", gid="name")
    ax.set_xlim(-0.6, 1.6)
    ax.set_axis_off()
    ax.set_title(f"{label_a} ↔ {label_b}: D = {result.D}, agreement {result.agreement:.2f}")
    fig.tight_layout()
    return fig


def plot_gallery(naming, thumbnail, *, activations=None, max_per_concept: int = 8, min_size: int = MIN_CONCEPT_SIZE,
                 size: float = 1.0):
    """A row of thumbnails per concept of one naming; ``thumbnail(activation_id)`` gives PNG bytes or None."""
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    from .analysis.namings import named_concepts

    concept_of, names = named_concepts(naming, activations, min_size=min_size)
    concepts = sorted(names, key=lambda c: (-int((concept_of == c).sum()), c))
    if not concepts:
        raise ValueError("The naming has no concept with at least min_size members to show.")
    fig, axes = plt.subplots(len(concepts), max_per_concept, squeeze=False,
                             figsize=(size * max_per_concept + 1, size * len(concepts) + 0.3))
    for row, concept in zip(axes, concepts):
        members = list(concept_of.index[concept_of == concept])
        for ax, aid in zip(row, members + [None] * max_per_concept):
            ax.set_axis_off()
            png = thumbnail(aid) if aid is not None else None
            if png is not None:
                ax.imshow(mpimg.imread(io.BytesIO(png), format="png"))
        row[0].set_title(f"{names[concept]} ({len(members)})", loc="left", fontsize="small")
    fig.tight_layout()
    return fig
