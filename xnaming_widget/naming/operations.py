"""The operation table: every change a person can make to a naming, with its arguments.

One table serves the Python API (``NamingWidget`` methods), the messages the browser sends
(``{"type": "op", "op": <name>, <fields>}``) and the browser's own optimistic copy of the
rules (exported to ``js/src/naming_rules.generated.js``). Field kinds:

- ``name``: a concept name (the rules of :func:`.rules.clean_concept_name`);
- ``ids``: a list of activation ids;
- ``place``: a concept id, ``"unlabeled"`` or ``"trash"``;
- ``concept``: one concept id; ``concepts``: a list of at least two concept ids;
- ``via``: who placed the activations, ``"person"`` (default), ``"suggestion"``, ``"proposal"``
  or ``"transfer"`` (:data:`.rules.VIA`);
- ``size``: a whole number, the wanted size of a proposed group (at least the minimum concept size).
"""
from __future__ import annotations

from typing import Any, Mapping

OPERATIONS: dict[str, dict[str, Any]] = {
    "create": {"method": "create_concept", "required": {"name": "name"},
               "optional": {"members": "ids", "via": "via"}, "doc": "new concept, optionally with members"},
    "move": {"method": "move", "required": {"ids": "ids", "target": "place"}, "optional": {"via": "via"},
             "doc": "move activations to a concept, unlabeled or trash"},
    "confirm": {"method": "confirm", "required": {"ids": "ids"}, "optional": {},
                "doc": "a person confirms proposed members where they are"},
    "accept": {"method": "accept", "required": {"concept_id": "concept", "ids": "ids"}, "optional": {},
               "doc": "a person accepts suggestions: a move into the concept with via=\"suggestion\""},
    "reject": {"method": "reject", "required": {"concept_id": "concept", "ids": "ids"}, "optional": {},
               "doc": "suggestions a person turned down: never suggested to that concept again"},
    "propose": {"method": "propose_concepts", "required": {}, "optional": {"size": "size"},
                "doc": "group the unlabeled pool into proposed concepts (descriptors; one undo step)"},
    "rename": {"method": "rename", "required": {"concept_id": "concept", "name": "name"}, "optional": {},
               "doc": "give a concept another name"},
    "merge": {"method": "merge", "required": {"concept_ids": "concepts"}, "optional": {"name": "name"},
              "doc": "merge concepts into the first one (renamed when a name is given)"},
    "delete": {"method": "delete_concept", "required": {"concept_id": "concept"}, "optional": {},
               "doc": "remove a concept; its members go back to unlabeled"},
    "undo": {"method": "undo", "required": {}, "optional": {}, "doc": "revert the latest operation"},
    "redo": {"method": "redo", "required": {}, "optional": {}, "doc": "apply the latest undone operation again"},
}


def call_arguments(message: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The method name and positional arguments of an operation message from the browser.

    Raises :class:`~.rules.NamingError` naming the unknown operation or the missing field.
    """
    from .rules import NamingError

    op = message.get("op")
    if op not in OPERATIONS:
        raise NamingError(f"Unknown operation {op!r}; expected one of {sorted(OPERATIONS)}.")
    spec = OPERATIONS[op]
    missing = [f for f in spec["required"] if f not in message]
    if missing:
        raise NamingError(f"Operation {op!r} lacks the field(s) {missing}.")
    args = [message[f] for f in spec["required"]]
    optional = [message.get(f) for f in spec["optional"]]
    while optional and optional[-1] is None:
        optional.pop()
    return spec["method"], args + optional
