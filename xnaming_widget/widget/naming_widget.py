"""``NamingWidget``: the interactive naming canvas (an anywidget) and its Python API.

Python is the source of truth (docs/widget-protocol.md). The browser renders the synced traits
and sends operations as custom messages; the same operations are methods here. Each one is
applied to a :class:`NamingState`, autosaved, and published as one new ``state`` value; if the
autosave write fails the operation is rolled back, so memory and file never disagree.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import anywidget
import pandas as pd
import traitlets
from IPython.display import display, update_display

from ..naming_format import NamingFileError, naming_doc, naming_table, read_naming_file, write_json_atomic
from .autosave import AutosaveConflictError, AutosaveFile, check_owner
from .html_export import snapshot_html, summary_html, write_snapshot
from .payload import HEAT, IMAGE, Payload, activation_table, build_payload, fingerprint_of
from .state import NamingError, NamingState, now_iso

_STATIC = Path(__file__).resolve().parent.parent / "static"
_BUNDLE = _STATIC / "widget.js"
_STYLES = _STATIC / "widget.css"
_MISSING_BUNDLE_ESM = """
function render({ el }) {
  el.textContent = "xnaming-widget: the browser bundle (xnaming_widget/static/widget.js) is missing. "
    + "Build it with `npm install && npm run build` in js/, or reinstall the package.";
}
export default { render };
"""

_SUPERSEDED = ("A newer naming widget opened the same autosave file, so this one no longer makes "
               "changes (all of its work is saved). Go on in the newer widget.")

# Traits the browser may change; everything else is set by Python only.
_BROWSER_WRITABLE = {"single_key_shortcuts", "error"}
# The most thumbnails one request may ask for (the browser asks for about a screenful at a time).
MAX_THUMBS_PER_REQUEST = 512


class NamingWidget(anywidget.AnyWidget):
    """Sort one category's significant activations into named concepts, unlabeled and trash.

    ``NamingWidget(activations, category="Sneaker", annotator="ana", autosave="namings/ana.json")``
    takes an ``ActivationSet`` or a DataFrame with SPEC §5's columns (no thumbnails then:
    placeholders are drawn). With ``autosave`` every change is written to that file, and
    creating the widget again with the same file restores the naming and its undo history.
    ``w.naming`` is at any moment SPEC §5's naming table.
    """

    _esm = _BUNDLE if _BUNDLE.is_file() else _MISSING_BUNDLE_ESM
    if _STYLES.is_file():
        _css = _STYLES

    # the activation table, one list per column, as UTF-8 JSON in a binary buffer: ipywidgets
    # neither walks nor escapes it, which matters at 100,000 activations
    table = traitlets.Bytes(b"{}").tag(sync=True)
    category = traitlets.Unicode("").tag(sync=True)
    annotator = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Dict().tag(sync=True)
    single_key_shortcuts = traitlets.Bool(True).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    thumb_size = traitlets.Int(96).tag(sync=True)

    def __init__(self, activations: Any, category: str | None = None, annotator: str | None = None,
                 autosave: str | os.PathLike | None = None, *, thumb_size: int = 96,
                 single_key_shortcuts: bool = True, _initial_doc: Mapping | None = None):
        if not isinstance(annotator, str) or not annotator.strip():
            raise ValueError("Pass annotator='your name' so that namings by different people stay apart.")
        if not isinstance(thumb_size, int) or not 16 <= thumb_size <= 512:
            raise ValueError(f"thumb_size must be an int between 16 and 512 pixels, not {thumb_size!r}.")
        annotator = annotator.strip()
        payload = build_payload(activations, category)
        self._payload: Payload = payload
        self._autosave: AutosaveFile | None = None
        self._saved_at: str | None = None
        self._closed = False
        self._superseded = False  # a newer widget took over the autosave file
        self._rejections = 0  # browser operations refused so far; part of the state's version
        doc = dict(_initial_doc) if _initial_doc is not None else None
        if autosave is not None:
            self._autosave = AutosaveFile(autosave, fingerprint=payload.fingerprint,
                                          category=payload.category, annotator=annotator)
        try:
            if self._autosave is not None:
                doc = self._autosave.read_existing()
            self._naming, history_kept = self._state_from(doc, payload)
            if doc is not None:
                self._saved_at = doc.get("saved_at")
            super().__init__(
                table=json.dumps(payload.shown_columns(), separators=(",", ":"), allow_nan=False).encode("utf-8"),
                category=payload.category, annotator=annotator, state=self._state_message(),
                single_key_shortcuts=single_key_shortcuts, thumb_size=thumb_size,
            )
            if self._autosave is not None:
                if doc is None or not history_kept:
                    self._write_autosave()
                    self.state = self._state_message()
                previous = self._autosave.take_over(self)
                if previous is not None:
                    previous._superseded_by_newer_widget()
        except BaseException:
            if self._autosave is not None:
                self._autosave.release()
            if getattr(self, "comm", None) is not None:  # opened before the failure: no zombie model
                anywidget.AnyWidget.close(self)
            raise
        self.on_msg(self._on_frontend_msg)

    @staticmethod
    def _state_from(doc: Mapping | None, payload: Payload) -> tuple[NamingState, bool]:
        """The naming saved in ``doc`` (or a fresh one), and whether its undo history was kept."""
        if doc is None:
            return NamingState(payload.shown_ids), True
        try:
            naming, history_restored = NamingState.restore(
                payload.shown_ids, doc["concepts"], doc["trash"], doc["unlabeled"], doc.get("log") or ())
        except NamingError as err:
            raise NamingFileError(f"The saved naming does not fit these activations: {err}") from None
        if not history_restored:
            warnings.warn("The naming was restored, but its log of operations does not match it, so undo "
                          "history starts afresh.", stacklevel=3)
        return naming, history_restored

    # ------------------------------------------------------------------ reading

    @property
    def activations(self) -> list[dict]:
        """The shown (significant) activations in display order, one dict each."""
        if getattr(self, "_activations", None) is None:
            self._activations = self._payload.activations
        return self._activations

    @property
    def naming(self) -> pd.DataFrame:
        """SPEC §5's naming table: one row per shown activation with its concept and status."""
        return naming_table(self._document(saved_at=self._saved_at))

    @property
    def concepts(self) -> pd.DataFrame:
        """The concepts in display order: ``id``, ``name``, ``size`` (number of members)."""
        rows = [(c["id"], c["name"], len(c["members"])) for c in self._naming.concepts]
        return pd.DataFrame(rows, columns=["id", "name", "size"]).astype({"id": "string", "name": "string"})

    @property
    def autosave_path(self) -> Path | None:
        """The autosave file, or None when the widget does not autosave."""
        return None if self._autosave is None else self._autosave.path

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the activation set this naming belongs to."""
        return self._payload.fingerprint

    def __repr__(self) -> str:
        return (f"NamingWidget(category={self.category!r}, annotator={self.annotator!r}, "
                f"{len(self._payload.shown_ids)} activations, {len(self._naming.concepts)} concepts)")

    # --------------------------------------------------------------- operations

    def create_concept(self, name: str, members: Iterable[str] = ()) -> str:
        """Make a new concept (optionally with ``members``); return its id."""
        return self._change(self._naming.create_concept, name, list(members))

    def move(self, activation_ids: Iterable[str], target: str) -> None:
        """Move activations to a concept id, ``"unlabeled"`` or ``"trash"``."""
        self._change(self._naming.move, activation_ids, target)

    def rename(self, concept_id: str, name: str) -> None:
        """Rename a concept."""
        self._change(self._naming.rename, concept_id, name)

    def merge(self, concept_ids: Sequence[str], name: str | None = None) -> str:
        """Merge concepts into the first of ``concept_ids``; return its id."""
        return self._change(self._naming.merge, concept_ids, name)

    def delete_concept(self, concept_id: str) -> None:
        """Delete a concept; its members return to the unlabeled pool."""
        self._change(self._naming.delete_concept, concept_id)

    def undo(self) -> None:
        """Undo the latest operation."""
        self._change(self._naming.undo)

    def redo(self) -> None:
        """Redo the latest undone operation."""
        self._change(self._naming.redo)

    def _change(self, operation, *args):
        """Apply an operation, autosave, publish; on any failure keep state and file as they were."""
        if self._closed:
            raise RuntimeError("This naming widget was closed; create a new one (same autosave file) to go on.")
        if self._superseded:
            raise AutosaveConflictError(_SUPERSEDED)
        version = self._naming.version
        with self._naming.transaction():
            result = operation(*args)
            if self._naming.version != version and self._autosave is not None:
                self._write_autosave()
        if self._naming.version != version:
            with self.hold_sync():
                self.state = self._state_message()
                if self.error:
                    self.error = ""
            self._refresh_summary()
        return result

    # ------------------------------------------------------------ front end

    _OPS = {
        "create": ("create_concept", ("name",), ("members",)),
        "move": ("move", ("ids", "target"), ()),
        "rename": ("rename", ("concept_id", "name"), ()),
        "merge": ("merge", ("concept_ids",), ("name",)),
        "delete": ("delete_concept", ("concept_id",), ()),
        "undo": ("undo", (), ()),
        "redo": ("redo", (), ()),
    }

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Apply an operation sent by the browser; report problems in ``error``, never raise."""
        if isinstance(content, Mapping) and content.get("type") == "thumbs":
            self._send_thumbnails(content)
            return
        if isinstance(content, Mapping) and content.get("type") == "image_rows":
            self._send_image_rows(content)
            return
        if not isinstance(content, Mapping) or content.get("type") != "op":
            return
        try:
            op = content.get("op")
            if op not in self._OPS:
                raise NamingError(f"Unknown operation {op!r}; expected one of {sorted(self._OPS)}.")
            method, required, optional = self._OPS[op]
            missing = [f for f in required if f not in content]
            if missing:
                raise NamingError(f"Operation {op!r} lacks the field(s) {missing}.")
            kwargs = {f: content[f] for f in required}
            kwargs.update({f: content[f] for f in optional if content.get(f) is not None})
            args = [kwargs[f] for f in required + optional if f in kwargs]
            getattr(self, method)(*args)
        except Exception as err:  # noqa: BLE001 - the comm must never see an exception
            self._reject(str(err) or type(err).__name__)

    def _send_thumbnails(self, content: Mapping) -> None:
        """Answer the browser's request for thumbnails with one binary buffer of PNGs.

        The answer repeats the request's ``kind``, ``req`` and ``ids``; PNG i is
        ``buffer[offsets[i]:offsets[i + 1]]``, empty when there is no thumbnail (or the id is not
        one this widget shows). A malformed request is answered with nothing: it comes from our
        own bundle, and the person can do nothing about it.
        """
        kind, ids = content.get("kind"), content.get("ids")
        if kind not in (HEAT, IMAGE) or not isinstance(ids, list) or len(ids) > MAX_THUMBS_PER_REQUEST:
            return
        try:
            pngs = self._payload.thumbnails(kind, ids)
        except Exception as err:  # noqa: BLE001 - e.g. a damaged set: placeholders, and say why
            pngs = [b""] * len(ids)
            self.error = f"Thumbnails could not be read: {err}"
        offsets = [0]
        for png in pngs:
            offsets.append(offsets[-1] + len(png))
        self.send({"type": "thumbs", "kind": kind, "req": content.get("req"), "ids": ids, "offsets": offsets},
                  buffers=[b"".join(pngs)])

    def _send_image_rows(self, content: Mapping) -> None:
        """Answer the compare view's request for every x-feature of some images (it asks for at most 8)."""
        image_ids = content.get("image_ids")
        if not isinstance(image_ids, list) or len(image_ids) > 64:
            return
        self.send({"type": "image_rows", "req": content.get("req"), "images": self._payload.image_rows(image_ids)})

    def _reject(self, message: str) -> None:
        """Report a refused browser operation so that the browser notices even a repeated one.

        The error is cleared first when it is the same text (the browser may have dismissed
        it), and the unchanged naming is published under a new version, so that the browser
        gets a change event and drops its optimistic view.
        """
        if self.error == message:
            self.error = ""
        self._rejections += 1
        with self.hold_sync():
            self.error = message
            self.state = self._state_message()

    def set_state(self, sync_data: dict) -> None:
        """Accept from the browser only the traits it may change; re-send the others unchanged."""
        allowed = {k: v for k, v in sync_data.items() if k in _BROWSER_WRITABLE}
        refused = [k for k in sync_data if k not in _BROWSER_WRITABLE and k in self.keys]
        if allowed:
            super().set_state(allowed)
        if refused:
            self.send_state(refused)

    # ----------------------------------------------------------------- files

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the naming to ``path`` (atomically) and return the path.

        An existing naming file of another person, category or activation set is not replaced
        unless ``overwrite=True``.
        """
        target = Path(path).expanduser().resolve()
        if self._autosave is not None and target == self._autosave.path:
            self._write_autosave()
            self.state = self._state_message()
            return target
        probe = AutosaveFile(target, fingerprint=self.fingerprint, category=self.category,
                             annotator=self.annotator)
        probe.claim(self)  # refuses a file that another open widget autosaves into
        try:
            if target.exists() and not overwrite:
                check_owner(read_naming_file(target), source=str(target), fingerprint=self.fingerprint,
                            category=self.category, annotator=self.annotator)
            write_json_atomic(target, self._document(saved_at=now_iso()))
        finally:
            probe.release()
        return target

    @classmethod
    def load(cls, path: str | os.PathLike, activations: Any, *, autosave: bool = False,
             **kwargs: Any) -> "NamingWidget":
        """Open a saved naming over ``activations``; with ``autosave=True`` go on saving into ``path``."""
        doc = read_naming_file(path)
        if autosave:
            return cls(activations, category=doc["category"], annotator=doc["annotator"], autosave=path,
                       **kwargs)
        fingerprint = fingerprint_of(activations, activation_table(activations))
        check_owner(doc, source=str(path), fingerprint=fingerprint, category=doc["category"],
                    annotator=doc["annotator"])
        return cls(activations, category=doc["category"], annotator=doc["annotator"], _initial_doc=doc,
                   **kwargs)

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write a self-contained HTML snapshot of the naming (opens offline) and return its path."""
        ids = self._payload.shown_ids
        thumbs = {i: (png or None) for i, png in zip(ids, self._payload.thumbnails(HEAT, ids))}
        page = snapshot_html(self._naming.snapshot(), thumbs, category=self.category,
                             annotator=self.annotator, saved_at=self._saved_at, thumb_size=self.thumb_size)
        return write_snapshot(path, page)

    def _superseded_by_newer_widget(self) -> None:
        """Stop changing the naming: a newer widget now autosaves into the same file."""
        self._superseded = True
        self._autosave = None
        if not self._closed:
            self.error = _SUPERSEDED

    def close(self) -> None:
        """Close the widget and free its autosave file for another widget."""
        if getattr(self, "_autosave", None) is not None:
            self._autosave.release()
        self._closed = True
        super().close()

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live view, and below it the text summary as an output of its own.

        The summary is what a notebook viewer without a kernel shows; it is refreshed after every
        change (``update_display``), so the saved notebook tells the current naming. Updating the
        widget's own output would make JupyterLab rebuild the live view each time, so the summary
        lives in a second output, which the canvas's CSS hides while the live view is above it.
        """
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        display({k: v for k, v in data.items() if k != "text/html"}, metadata=metadata, raw=True)
        display({"text/html": self._summary_html()}, raw=True, display_id=self._summary_id)
        self._summary_shown = True

    @property
    def _summary_id(self) -> str:
        return f"xnaming-summary-{self.model_id}"

    def _summary_html(self) -> str:
        return summary_html(self._naming.snapshot(), category=self.category, annotator=self.annotator)

    def _refresh_summary(self) -> None:
        if getattr(self, "_summary_shown", False):
            update_display({"text/html": self._summary_html()}, raw=True, display_id=self._summary_id)

    def _repr_mimebundle_(self, **kwargs: Any):
        """The live widget view plus a static concept summary for viewers without a kernel."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data)
        data["text/html"] = self._summary_html()
        return data, metadata

    # --------------------------------------------------------------- internals

    def _document(self, saved_at: str | None) -> dict:
        snap = self._naming.snapshot()
        return naming_doc(annotator=self.annotator, category=self._payload.category,
                          fingerprint=self._payload.fingerprint, concepts=snap["concepts"],
                          trash=snap["trash"], unlabeled=snap["unlabeled"], log=self._naming.log,
                          saved_at=saved_at)

    def _write_autosave(self) -> None:
        saved_at = now_iso()
        self._autosave.write(self._document(saved_at=saved_at))
        self._saved_at = saved_at

    def _state_message(self) -> dict:
        snap = self._naming.snapshot()
        return {"version": self._naming.version + self._rejections, **snap, "can_undo": self._naming.can_undo,
                "can_redo": self._naming.can_redo, "saved_at": self._saved_at}


__all__ = ["NamingWidget", "NamingError", "NamingFileError", "AutosaveConflictError"]
