"""``NamingWidget``: the interactive naming canvas (an anywidget) and its Python API.

Python is the source of truth (docs/widget-protocol.md). The browser renders the synced traits
and sends operations as custom messages; the same operations are methods here. Each one is
applied to a :class:`NamingState`, appended to the autosave journal (one fsynced record, so an
edit costs the same however long the session), and published as one new ``state`` value; if
the autosave write fails the operation is rolled back, so memory and file never disagree.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import anywidget
import numpy as np
import pandas as pd
import traitlets
from IPython.display import display, update_display

from ..naming.activation_table import WIDGET_COLUMNS, activation_table, fingerprint_of
from ..naming.document import check_owner, naming_doc, naming_table, read_naming_file
from ..naming.journal import COMPACT_EVERY, AutosaveConflictError, NamingJournal, write_naming_copy
from ..naming.operations import call_arguments
from .._activation_store import pack_blobs
from ..assist.on_demand import descriptors_for_assist
from ..assist.propose import propose_groups
from ..assist.suggest import DescriptorSpace, rank_rows
from ..naming.rules import MIN_CONCEPT_SIZE, PROPOSAL_SIZE, TRASH, UNLABELED, NamingError, NamingFileError, name_key
from ..naming.state import NamingState, now_iso
from .html_export import snapshot_html, summary_html_of_sizes, write_snapshot
from .payload import HEAT, IMAGE, Payload, build_payload
from .summary import SummaryRefresher

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
# The most suggestions one request may ask for (the canvas's strip asks for 20).
MAX_SUGGESTIONS_PER_REQUEST = 200


class NamingWidget(anywidget.AnyWidget):
    """Sort one category's significant activations into named concepts, unlabeled and trash.

    ``NamingWidget(activations, category="Sneaker", annotator="ana", autosave="namings/ana.json")``
    takes an ``ActivationSet`` or a DataFrame with definitions §5's columns (no thumbnails then:
    placeholders are drawn). With ``autosave`` every change is written to that file, and
    creating the widget again with the same file restores the naming and its undo history.
    ``w.naming`` is at any moment definitions §5's naming table.
    """

    _esm = _BUNDLE if _BUNDLE.is_file() else _MISSING_BUNDLE_ESM
    if _STYLES.is_file():
        _css = _STYLES

    # the activation table, one list per column, as UTF-8 JSON in a binary buffer: ipywidgets
    # neither walks nor escapes it, which matters at 100,000 activations
    table = traitlets.Bytes(b"{}").tag(sync=True)
    category = traitlets.Unicode("").tag(sync=True)
    annotator = traitlets.Unicode("").tag(sync=True)
    # The naming as of a version; afterwards each change travels as a small "delta" message
    # (docs/widget-protocol.md), so a change costs the same whatever the size of the naming.
    base_state = traitlets.Dict().tag(sync=True)
    single_key_shortcuts = traitlets.Bool(True).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    thumb_size = traitlets.Int(96).tag(sync=True)

    def __init__(self, activations: Any, category: str | None = None, annotator: str | None = None,
                 autosave: str | os.PathLike | None = None, *, thumb_size: int = 96,
                 single_key_shortcuts: bool = True, start_from: str | os.PathLike | None = None,
                 _initial_doc: Mapping | None = None):
        if not isinstance(annotator, str) or not annotator.strip():
            raise ValueError("Pass annotator='your name' so that namings by different people stay apart.")
        if not isinstance(thumb_size, int) or not 16 <= thumb_size <= 512:
            raise ValueError(f"thumb_size must be an int between 16 and 512 pixels, not {thumb_size!r}.")
        annotator = annotator.strip()
        payload = build_payload(activations, category)
        self._payload: Payload = payload
        self._source = activations  # the ActivationSet (descriptors for suggestions), or a DataFrame
        self._autosave: NamingJournal | None = None
        self._saved_at: str | None = None
        self._closed = False
        self._superseded = False  # a newer widget took over the autosave file
        self._rejections = 0  # browser operations refused so far; part of the state's version
        doc = dict(_initial_doc) if _initial_doc is not None else None
        previous = None
        if autosave is not None:
            self._autosave = NamingJournal(autosave, fingerprint=payload.fingerprint,
                                           category=payload.category, annotator=annotator)
        try:
            if self._autosave is not None:
                doc, previous = self._autosave.open(self)  # locks it; raises if another process has it
            self._naming, history_kept = self._state_from(doc, payload)
            if doc is None and start_from is not None:
                self._start_from(start_from, payload)
            if doc is not None:
                self._saved_at = doc.get("saved_at")
            snap = self._naming.snapshot()
            if self._autosave is not None:
                # a clean snapshot at open (journal folded in, old versions upgraded), written
                # before the state is first sent, so that the one message carries its time
                self._compact(annotator=annotator, snap=snap)
            super().__init__(
                table=json.dumps(payload.shown_columns(), separators=(",", ":"), allow_nan=False).encode("utf-8"),
                category=payload.category, annotator=annotator, base_state=self._state_message(snap),
                single_key_shortcuts=single_key_shortcuts, thumb_size=thumb_size,
            )
            if previous is not None and previous is not self:
                previous._superseded_by_newer_widget()
        except BaseException:
            if self._autosave is not None:
                self._autosave.release()
            if getattr(self, "comm", None) is not None:  # opened before the failure: no zombie model
                anywidget.AnyWidget.close(self)
            raise
        self.on_msg(self._on_frontend_msg)

    def _start_from(self, path: str | os.PathLike, payload: Payload) -> None:
        """Begin with another person's concepts of the same activation set, marked as transferred."""
        other = read_naming_file(path)
        if other.get("fingerprint") != payload.fingerprint or other.get("category") != payload.category:
            raise NamingFileError(
                f"start_from={str(path)!r} is a naming of category {other.get('category')!r} on activation set "
                f"{other.get('fingerprint')!r}; it must be of {payload.category!r} on {payload.fingerprint!r}. To "
                "carry a naming to other images use transfer_naming.")
        shown = set(payload.shown_ids)
        groups = [(c["name"], [a for a in c["members"] if a in shown]) for c in other["concepts"]]
        self._naming.create_concepts(groups, via="transfer")

    @staticmethod
    def _state_from(doc: Mapping | None, payload: Payload) -> tuple[NamingState, bool]:
        """The naming saved in ``doc`` (or a fresh one), and whether its undo history was kept."""
        if doc is None:
            return NamingState(payload.shown_ids), True
        try:
            naming, history_restored = NamingState.restore(
                payload.shown_ids, doc["concepts"], doc["trash"], doc["unlabeled"], doc.get("log") or (),
                marks=doc.get("marks"), rejected=doc.get("rejected"))
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
        """definitions §5's naming table: one row per shown activation with its concept and status."""
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

    def create_concept(self, name: str, members: Iterable[str] = (), via: str = "person") -> str:
        """Make a new concept (optionally with ``members``); return its id.

        ``via``: who placed the members, ``"person"`` or ``"suggestion"``, ``"proposal"``,
        ``"transfer"`` (the last two stay *proposed* until :meth:`confirm`).
        """
        return self._change(self._naming.create_concept, name, list(members), via)

    def move(self, activation_ids: Iterable[str], target: str, via: str = "person") -> None:
        """Move activations to a concept id, ``"unlabeled"`` or ``"trash"`` (``via`` as in create)."""
        self._change(self._naming.move, activation_ids, target, via)

    def confirm(self, activation_ids: Iterable[str]) -> None:
        """Confirm proposed members (placed by a proposal or a transfer) where they are."""
        self._change(self._naming.confirm, activation_ids)

    # ------------------------------------------------------------ assistance

    def suggest(self, concept_id: str, k: int = 20) -> list[str]:
        """Unlabeled activations most likely to belong to ``concept_id``, best first (at most ``k``).

        Learned from the naming as it is: the concept's members, the other concepts and the
        suggestions rejected for it (:mod:`xnaming_widget.assist.suggest`); rejected ones are
        never suggested again. Accept with :meth:`accept`, turn down with :meth:`reject`.
        """
        return list(self.suggestion_scores(concept_id, k).index)

    def suggestion_scores(self, concept_id: str, k: int = 20) -> pd.Series:
        """:meth:`suggest`'s answer with each suggestion's score (a Series by activation id, best
        first): its affinity to the concept (the mean of its 5 highest cosines to the members)
        minus its largest affinity to another concept or cosine to a rejected activation, in a
        metric learned from the naming (:mod:`xnaming_widget.assist.suggest`). Above 0, a
        suggestion is closer to this concept than to anything it was told apart from: on the
        parts set 93–96 % of those were right, against 46–56 % at or below 0 (the canvas marks
        the two apart)."""
        self._naming.concept_name(concept_id)  # a clear error for an unknown concept
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        space = self._descriptor_space()
        # numbered places of all shown activations: every step below is a whole-array operation
        codes, places = pd.factorize(np.asarray(self._naming.places_of(space.ids), dtype=object))
        number = {place: i for i, place in enumerate(places)}
        members = np.flatnonzero(codes == number.get(concept_id, -1))
        if not len(members):
            raise ValueError("the concept has no members yet: place a few activations in it first")
        rejected = space.rows(sorted(self._naming.rejected(concept_id)))
        candidates = codes == number.get(UNLABELED, -1)
        candidates[rejected] = False
        # every place in `places` has members; the other concepts are numbered 0..G-1, the rest -1
        other = np.ones(len(places), bool)
        other[[number[p] for p in (concept_id, UNLABELED, TRASH) if p in number]] = False
        labels = np.where(other, np.cumsum(other) - 1, -1)[codes]
        best, scores = rank_rows(space.vectors, members, np.flatnonzero(candidates), negative_labels=labels,
                                 rejected_rows=rejected, k=k, with_scores=True)
        return pd.Series(scores.astype(np.float64), index=pd.Index([space.ids[i] for i in best], name="activation_id"),
                         name="score")

    def accept(self, concept_id: str, activation_ids: Iterable[str]) -> None:
        """Put suggested activations in ``concept_id``: one operation, marked as accepted suggestions."""
        self._change(self._naming.move, activation_ids, concept_id, "suggestion")

    def reject(self, concept_id: str, activation_ids: Iterable[str]) -> None:
        """Record suggestions that do not belong to ``concept_id`` (one undo step)."""
        self._change(self._naming.reject, concept_id, activation_ids)

    def propose_concepts(self, size: int = PROPOSAL_SIZE, seed: int = 0) -> list[str]:
        """Group the unlabeled pool (within each x-feature, by descriptors) into proposed concepts of
        about ``size`` members, as one undoable operation; returns their ids. Their members stay
        *proposed* until confirmed; name, split, merge or delete them as any concept."""
        groups = propose_groups(self._descriptor_space(), self._naming.members_by_place()["unlabeled"],
                                self._xfeature_of(), size=size, seed=seed)
        taken = {name_key(n) for n in self.concepts["name"]}
        groups = [(name, members) for name, members in groups if name_key(name) not in taken]
        return self._change(self._naming.create_concepts, groups, "proposal") if groups else []

    def _xfeature_of(self) -> dict[str, int]:
        c = self._payload.columns
        return dict(zip(c["id"], c["xfeature"]))

    def _descriptor_space(self) -> DescriptorSpace:
        """The shown activations' descriptors, projected once and cached."""
        space = getattr(self, "_space", None)
        if space is None:
            try:
                descriptors = descriptors_for_assist(self._source)
            except ValueError as err:
                raise ValueError(f"Suggestions need activation descriptors, and {err}.") from None
            ids = self._payload.shown_ids
            maps = self._source.heatmap_rows[[self._source._row(a) for a in ids]]
            space = DescriptorSpace(ids, np.asarray(descriptors)[maps])
            self._space = space
        return space

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
                records = self._naming.log_since(version)
                self._autosave.append(records, first_number=version)
                self._saved_at = records[-1]["time"]  # what a reader of the file sees as saved_at
        if self._autosave is not None and self._autosave.records_since_compaction >= COMPACT_EVERY:
            self._compact_quietly()
        if self._naming.version != version:
            self._send_delta(version)
            if self.error:
                self.error = ""
            self._refresh_summary()
        return result

    @property
    def state(self) -> dict:
        """The naming now, as the browser shows it once confirmed: ``version``, ``concepts``,
        ``unlabeled``, ``trash``, ``marks``, ``can_undo``, ``can_redo``, ``saved_at``."""
        return self._state_message()

    @property
    def _version(self) -> int:
        """The version of the published naming: every change, undo, redo and refused operation counts."""
        return self._naming.version + self._rejections

    def _send_delta(self, naming_version: int) -> None:
        """Tell the browser what the operations since ``naming_version`` changed (not the whole naming)."""
        base = naming_version + self._rejections
        self.send({"type": "delta", "base": base, "version": self._version,
                   "changes": self._naming.effects_since(naming_version), "can_undo": self._naming.can_undo,
                   "can_redo": self._naming.can_redo, "saved_at": self._saved_at})

    def _publish_state(self) -> None:
        """Send the whole naming (at open, after a refused operation, when a view asks to resync)."""
        message = self._state_message()
        if message == self.base_state:
            self.send_state("base_state")  # the browser asked: send it even though it did not change
        else:
            self.base_state = message

    # ------------------------------------------------------------ front end

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Apply an operation sent by the browser; report problems in ``error``, never raise."""
        if isinstance(content, Mapping) and content.get("type") == "thumbs":
            self._send_thumbnails(content)
            return
        if isinstance(content, Mapping) and content.get("type") == "image_rows":
            self._send_image_rows(content)
            return
        if isinstance(content, Mapping) and content.get("type") == "suggest":
            self._send_suggestions(content)
            return
        if isinstance(content, Mapping) and content.get("type") == "resync":
            if content.get("version") != self._version:
                self._publish_state()  # a view missed a delta or predates some: the whole naming once
            return
        if not isinstance(content, Mapping) or content.get("type") != "op":
            return
        try:
            method, args = call_arguments(content)
            result = getattr(self, method)(*args)
        except Exception as err:  # noqa: BLE001 - the comm must never see an exception
            self._reject(str(err) or type(err).__name__)
            return
        if content.get("op") == "propose":  # the canvas cannot tell "nothing proposed" from a lost message
            n = len(result)
            if n:
                text = f"Proposed {n} concept{'s' if n != 1 else ''}: confirm, rename, merge or delete them."
            else:
                text = (f"Nothing new to propose: no x-feature has a group of at least {MIN_CONCEPT_SIZE} unlabeled "
                        "activations whose name ('proposed x…') is still free.")
            self.send({"type": "notice", "text": text})

    def _send_suggestions(self, content: Mapping) -> None:
        """Answer the canvas's ``suggest`` request with :meth:`suggest`'s ids, best first, and
        their scores (:meth:`suggestion_scores`).

        The answer repeats ``req`` and ``concept`` and names the naming's ``version`` it was
        computed on. A request that cannot be answered (unknown concept, no descriptors, a
        concept without members, a bad ``k``) gets ``ids: []`` and an ``error``, which is also
        shown in the error banner; nothing is raised into the comm.
        """
        concept, k = content.get("concept"), content.get("k", 20)
        reply = {"type": "suggestions", "req": content.get("req"), "concept": concept, "version": self._version}
        try:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_SUGGESTIONS_PER_REQUEST:
                raise ValueError(f"k must be a whole number from 1 to {MAX_SUGGESTIONS_PER_REQUEST}, not {k!r}.")
            if not isinstance(concept, str):
                raise NamingError(f"Suggestions are for a concept id (e.g. 'c1'), not {concept!r}.")
            scored = self.suggestion_scores(concept, k=k)
        except Exception as err:  # noqa: BLE001 - the comm must never see an exception
            message = f"No suggestions: {err}" if str(err) else f"No suggestions ({type(err).__name__})."
            self._show_error(message)
            self.send({**reply, "ids": [], "error": message})
            return
        self.send({**reply, "ids": list(scored.index), "scores": [float(v) for v in scored.to_numpy()]})

    def _show_error(self, message: str) -> None:
        """Show ``message`` in the banner, again even when it is the text already there."""
        if self.error == message:
            self.error = ""
        self.error = message

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
        data, offsets = pack_blobs(pngs)
        self.send({"type": "thumbs", "kind": kind, "req": content.get("req"), "ids": ids,
                   "offsets": offsets.tolist()}, buffers=[data.tobytes()])

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
            self._publish_state()

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
            self._compact()
            self._publish_state()
            return target
        if target.exists() and not overwrite:
            check_owner(read_naming_file(target), source=str(target), fingerprint=self.fingerprint,
                        category=self.category, annotator=self.annotator)
        write_naming_copy(target, self._document(saved_at=now_iso()))  # refuses a file a widget has open
        return target

    @classmethod
    def load(cls, path: str | os.PathLike, activations: Any, *, autosave: bool = False,
             **kwargs: Any) -> "NamingWidget":
        """Open a saved naming over ``activations``; with ``autosave=True`` go on saving into ``path``."""
        doc = read_naming_file(path)
        if autosave:
            return cls(activations, category=doc["category"], annotator=doc["annotator"], autosave=path,
                       **kwargs)
        fingerprint = fingerprint_of(activations, activation_table(activations, required=WIDGET_COLUMNS))
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
        if self._autosave is not None:
            self._autosave.disown()
        self._autosave = None
        if not self._closed:
            self.error = _SUPERSEDED

    def close(self) -> None:
        """Close the widget and free its autosave file for another widget."""
        if getattr(self, "_summary_refresher", None) is not None:
            self._summary_refresher.flush()  # the saved summary shows the naming as it was left
        if getattr(self, "_autosave", None) is not None and not self._closed and hasattr(self, "_naming"):
            try:
                self._compact()
            except (OSError, AutosaveConflictError) as err:  # every change is already in the journal
                warnings.warn(f"The naming file was not compacted at close ({err}); it loads as it is.",
                              stacklevel=2)
            finally:
                self._autosave.release()
        self._closed = True
        super().close()

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live view, and below it the text summary as an output of its own.

        The summary is what a notebook viewer without a kernel shows; it is refreshed after the
        changes (``update_display``; in a kernel when they pause, within 2 s, see :mod:`.summary`),
        so the saved notebook tells the current naming. Updating the
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
        return summary_html_of_sizes(self._naming.sizes(), category=self.category, annotator=self.annotator)

    def _refresh_summary(self) -> None:
        """Refresh the summary after a change: in a kernel soon after, off the change's path
        (:mod:`.summary`); the change's delta has been sent already."""
        if not getattr(self, "_summary_shown", False):
            return
        if getattr(self, "_summary_refresher", None) is None:
            self._summary_refresher = SummaryRefresher(self._write_summary)
        self._summary_refresher.request()

    def _write_summary(self) -> None:
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

    def _document(self, saved_at: str | None, *, annotator: str | None = None, snap: dict | None = None) -> dict:
        snap = self._naming.snapshot() if snap is None else snap
        return naming_doc(annotator=annotator or self.annotator, category=self._payload.category,
                          fingerprint=self._payload.fingerprint, concepts=snap["concepts"],
                          trash=snap["trash"], unlabeled=snap["unlabeled"], log=self._naming.log_since(0),
                          saved_at=saved_at, order=self._naming.activation_ids, marks=self._naming.marks,
                          rejected=self._naming.rejections)

    def _compact(self, *, annotator: str | None = None, snap: dict | None = None) -> None:
        """Rewrite the autosave file as one snapshot (at open, at close, every COMPACT_EVERY records).

        ``annotator`` and ``snap`` (the naming's snapshot now) are given while the widget is made."""
        saved_at = now_iso()
        self._autosave.compact(self._document(saved_at=saved_at, annotator=annotator, snap=snap))
        self._saved_at = saved_at

    def _compact_quietly(self) -> None:
        """Compact now; a failure only warns, because every change is already in the journal."""
        try:
            self._compact()
        except OSError as err:
            warnings.warn(f"Compacting the naming file failed ({err}); changes keep being appended.",
                          stacklevel=3)

    def _state_message(self, snap: dict | None = None) -> dict:
        snap = self._naming.snapshot() if snap is None else snap
        return {"version": self._version, **snap, "can_undo": self._naming.can_undo,
                "can_redo": self._naming.can_redo, "saved_at": self._saved_at}


__all__ = ["NamingWidget", "NamingError", "NamingFileError", "AutosaveConflictError"]
