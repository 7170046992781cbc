"""The browser's naming rules are generated from Python's, never kept by hand."""
from __future__ import annotations

import re

from xnaming_widget.naming import export_js, rules
from xnaming_widget.naming.operations import OPERATIONS


def test_the_committed_module_is_the_generated_one():
    assert export_js.TARGET.read_text(encoding="utf-8") == export_js.module_text(), (
        "js/src/naming_rules.generated.js is stale: run `python -m xnaming_widget.naming.export_js` "
        "and rebuild the bundle")


def test_no_js_source_defines_a_naming_constant_of_its_own():
    sources = [p for p in export_js.TARGET.parent.glob("*.js") if p != export_js.TARGET]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for name in ("UNLABELED", "TRASH", "MIN_CONCEPT_SIZE", "MAX_NAME_LENGTH"):
            assert not re.search(rf"\b(const|let|var)\s+{name}\s*=", text), f"{path.name} defines {name}"
    assert f"MIN_CONCEPT_SIZE = {rules.MIN_CONCEPT_SIZE};" in export_js.module_text()
    assert all(f'"{op}"' in export_js.module_text() for op in OPERATIONS)
