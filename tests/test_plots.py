"""Plot functions draw the expected bars, labels and texts (checked on the artists, not pixels)."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from xnaming_widget import plots  # noqa: E402
from xnaming_widget.analysis import dfamily_agreement, named_by_n, pairwise_table  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled(annotator, labels, names=None, category="bird"):
    rows = [(annotator, category, f"a{i}", None if c is None else f"{annotator}{c}",
             None if c is None else (names or {}).get(c, f"n{c}"), "named" if c is not None else "unlabeled")
            for i, c in enumerate(labels)]
    return pd.DataFrame(rows, columns=["annotator", "category", "activation_id", "concept_id", "concept",
                                       "status"]).astype("string")


def test_global_explanation_bars_with_rest():
    table = pd.DataFrame({"explanation": [("eye", "wing"), ("eye",), ("wing",), ("other",)],
                          "count": [5, 3, 1, 1]})
    table["fraction"] = table["count"] / 10
    fig = plots.plot_global_explanation(table, top_k=2)
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == pytest.approx([50, 30, 20])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["eye + wing", "eye", "rest"]
    assert "50.0 %" in [t.get_text() for t in ax.texts]


def test_coverage_bars_end_with_any_annotator():
    table = pd.DataFrame({"category": ["bird"] * 3 + ["cat"] * 3,
                          "annotator": ["p", "q", "any annotator"] * 2,
                          "activation_coverage": [0.5, 0.7, 0.8, 0.2, 0.4, 0.6]})
    ax = plots.plot_coverage(table).axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.5, 0.2, 0.7, 0.4, 0.8, 0.6])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["p", "q", "Any annotator"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bird", "cat"]


def test_named_by_n_stacks_to_one():
    acts = pd.DataFrame({"activation_id": [f"a{i}" for i in range(6)], "image_id": [f"i{i}" for i in range(6)],
                         "category": "bird", "xfeature": 0, "significant": True})
    namings = pd.concat([labelled("p", [0, 0, 0, 1, 1, 1]), labelled("q", [0, 0, 0, None, None, None])])
    table = named_by_n(namings, acts)
    ax = plots.plot_named_by_n(table).axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0, 0.5, 0.5]) and sum(heights) == pytest.approx(1)


def test_pairwise_heat_table_texts():
    base = [0] * 3 + [1] * 3
    table = pairwise_table(pd.concat([labelled("p", base), labelled("q", base), labelled("r", [0] * 6)]),
                           measures=("jaccard", "agreement_d2"))
    ax = plots.plot_pairwise_table(table).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "1.00±0.00" in texts and len(texts) == 2 * 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bird", "global average"]


def test_matching_graph_draws_names_weights_and_matched_edges():
    a = labelled("a", [0] * 6 + [1] * 6, {0: "wing", 1: "eye"})
    b = labelled("b", [0] * 3 + [1] * 3 + [2] * 5 + [0], {0: "open wing", 1: "closed wing", 2: "eye"})
    result = dfamily_agreement(a, b, 2)
    ax = plots.plot_matching(result).axes[0]
    names = sorted(t.get_text() for t in ax.texts if t.get_gid() == "name")
    assert names == sorted(["wing", "eye", "open wing", "closed wing", "eye"])
    weights = sorted(int(t.get_text()) for t in ax.texts if t.get_gid() == "weight")
    assert weights == sorted(result.intersection.to_numpy()[result.intersection.to_numpy() > 0].tolist())
    matched = [line for line in ax.lines if line.get_gid() == "matched"]
    assert len(matched) == sum(len(x) * len(y) for x, y in result.groups)


def test_gallery_rows_per_concept():
    buffer = io.BytesIO()
    plt.imsave(buffer, np.ones((4, 4, 3)), format="png")
    png = buffer.getvalue()
    naming = labelled("a", [0, 0, 0, 0, 1, 1, 1, None], {0: "eye", 1: "wing"})
    fig = plots.plot_gallery(naming, lambda aid: None if aid == "a1" else png, max_per_concept=4)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles == ["eye (4)", "wing (3)"]
    assert sum(len(ax.images) for ax in fig.axes) == 3 + 3  # a1 has no thumbnail
