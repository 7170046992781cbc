"""The HTML report embeds its figures and escapes its text."""
from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from xnaming_widget.report import Report, figure_png


def test_report_is_self_contained_and_escapes_text(tmp_path):
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    table = pd.DataFrame({"concept": ["<b>sole</b>"], "fraction": [0.5]})
    path = Report("Demo <report>").add("Global", "x < y", table, fig).write(tmp_path / "r.html")
    text = path.read_text()
    assert "<b>sole</b>" not in text and "&lt;b&gt;sole&lt;/b&gt;" in text
    assert "Demo &lt;report&gt;" in text and "x &lt; y" in text
    (encoded,) = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert base64.b64decode(encoded) == figure_png(fig)
    assert "http" not in text  # nothing fetched from elsewhere
    plt.close(fig)


def test_report_rejects_unknown_blocks():
    with pytest.raises(TypeError, match="text, a DataFrame or a matplotlib Figure"):
        Report("r").add("s", 42).to_html()
