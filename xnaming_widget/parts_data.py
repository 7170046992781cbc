"""A synthetic colour "birds" data set with known part locations (a tiny, offline stand-in for CUB).

Classes differ in which parts a bird has and in their shape and colour; some parts are shared
across classes (every bird has a body, head and eye). Positions, scale, facing direction and
colours are jittered, and the background carries noise and clutter. Every part's keypoint is a
pixel of that part as drawn (visible, not occluded), so locality metrics can use it directly.

``fine_grained=True`` draws a harder task, closer to CUB's species: every bird has the same parts
and the classes differ only by combinations of part attributes (wing colour, tail length,
crest present or not), so no single part tells the class; body and head colours vary per image
and carry no class information; a few birds are atypical (drawn with another class's attribute
on one part), so even a perfect reader of the parts is not always right.

Drawing is vectorised over all images at once: each part is a boolean mask (N, H, W) computed
from a pixel grid and per-image shape parameters; the Python loops run only over the few parts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import ImageArrayDataset

__all__ = ["PartsDataset", "make_parts_dataset", "PART_NAMES", "BIRD_CLASSES", "FINE_GRAINED_CLASSES",
           "FINE_GRAINED_ATTRIBUTES"]

PART_NAMES = ["body", "head", "eye", "beak", "wing", "tail", "crest", "legs"]

# Per class: colours (RGB in [0, 1]) of the parts it has, and shape parameters in units of the
# bird scale u. Parts absent from "colors" are not drawn. beak: (length, half-width, droop);
# tail: (length, half-width); crest: length; legs: length; body: (radius y, radius x).
_C = {
    "red": (0.85, 0.12, 0.10), "dark_red": (0.55, 0.05, 0.05), "orange": (0.98, 0.55, 0.10),
    "blue": (0.15, 0.35, 0.85), "light_blue": (0.55, 0.75, 0.98), "black": (0.07, 0.07, 0.08),
    "white": (0.97, 0.97, 0.97), "brown": (0.50, 0.32, 0.16), "green": (0.10, 0.55, 0.20),
    "yellow": (0.98, 0.86, 0.10), "grey": (0.55, 0.55, 0.58), "pink": (0.97, 0.55, 0.70),
}
BIRD_CLASSES: dict[str, dict] = {
    "Cardinal": dict(colors=dict(body="red", head="red", eye="black", beak="orange", wing="dark_red",
                                 tail="dark_red", crest="red", legs="brown"),
                     body=(0.15, 0.22), beak=(0.09, 0.045, 0.0), tail=(0.16, 0.05), crest=0.13, legs=0.07),
    "Blue jay": dict(colors=dict(body="light_blue", head="blue", eye="black", beak="black", wing="blue",
                                 tail="blue", crest="blue", legs="grey"),
                     body=(0.15, 0.23), beak=(0.08, 0.03, 0.0), tail=(0.26, 0.045), crest=0.10, legs=0.07),
    "Mallard": dict(colors=dict(body="brown", head="green", eye="black", beak="yellow", wing="grey",
                                tail="black"),
                    body=(0.15, 0.28), beak=(0.13, 0.035, 0.02), tail=(0.08, 0.05)),
    "Flamingo": dict(colors=dict(body="pink", head="pink", eye="white", beak="black", wing="pink",
                                 legs="pink"),
                     body=(0.14, 0.21), beak=(0.15, 0.03, 0.06), legs=0.26),
    "Goldfinch": dict(colors=dict(body="yellow", head="yellow", eye="black", beak="orange", wing="black",
                                  tail="black", legs="brown"),
                      body=(0.13, 0.19), beak=(0.06, 0.035, 0.0), tail=(0.12, 0.04), legs=0.07),
    "Crow": dict(colors=dict(body="black", head="black", eye="white", beak="black", wing="grey",
                             tail="black", legs="black"),
                 body=(0.16, 0.25), beak=(0.11, 0.04, 0.01), tail=(0.18, 0.06), legs=0.09),
}
# The fine-grained task: one attribute per part, two values each; every combination is a class.
# part -> (kind, (value A, value B)); each value is what that part looks like in BIRD_CLASSES terms.
FINE_GRAINED_ATTRIBUTES: dict[str, tuple[str, tuple[str, str]]] = {
    "wing": ("colour", ("red", "blue")),
    "tail": ("shape", ("short", "long")),
    "crest": ("presence", ("absent", "present")),
}
_FG_TAIL = {"short": (0.07, 0.05), "long": (0.28, 0.06)}
_FG_NUISANCE = ["brown", "grey", "yellow", "white"]  # body and head colour, drawn per image
_FG_COMBOS = [(w, t, c) for w in ("red", "blue") for t in ("short", "long") for c in ("absent", "present")]


def _fine_grained_class(wing: str, tail: str, crest: str) -> dict:
    colors = dict(body="brown", head="brown", eye="black", beak="black", wing=wing, tail="black", legs="brown")
    if crest == "present":
        colors["crest"] = "orange"
    return dict(colors=colors, body=(0.15, 0.23), beak=(0.09, 0.04, 0.0), tail=_FG_TAIL[tail], crest=0.28,
                legs=0.08, attributes=dict(wing=wing, tail=tail, crest=crest))


FINE_GRAINED_CLASSES: dict[str, dict] = {
    f"{w.capitalize()} wing, {t} tail, {'crested' if c == 'present' else 'no crest'}": _fine_grained_class(w, t, c)
    for w, t, c in _FG_COMBOS}
_BACKGROUNDS = np.array([(0.70, 0.85, 0.95), (0.75, 0.88, 0.65), (0.90, 0.86, 0.72), (0.80, 0.80, 0.82)])


@dataclass(eq=False)
class PartsDataset(ImageArrayDataset):
    """Synthetic birds with part annotations (see ``make_parts_dataset``).

    ``images`` uint8 (N, H, W, 3); ``labels`` int64 (N,); ``part_names`` (P,);
    ``keypoints`` float32 (N, P, 2) as (row, col) pixels, NaN where the part is absent;
    ``boxes`` float32 (N, 4) as (row0, col0, row1, col1), inclusive-exclusive, around the bird;
    ``parts_present`` bool (N, P); ``part_map`` int8 (N, H, W): index of the visible part per
    pixel, -1 for background; ``class_parts``: class name -> {part: description};
    ``drawn_labels`` int64 (N,): the class whose look each bird was drawn with (differs from
    ``labels`` only for the fine-grained task's atypical birds; -1 where that look is not
    one of the classes drawn).
    """

    part_names: list[str] = field(default_factory=list)
    keypoints: np.ndarray | None = None
    boxes: np.ndarray | None = None
    parts_present: np.ndarray | None = None
    part_map: np.ndarray | None = None
    class_parts: dict = field(default_factory=dict)
    drawn_labels: np.ndarray | None = None

    def _replace_rows(self, idx) -> "PartsDataset":
        return PartsDataset(images=self.images[idx].copy(), labels=self.labels[idx].copy(),
                            classes=self.classes, part_names=list(self.part_names),
                            keypoints=self.keypoints[idx].copy(), boxes=self.boxes[idx].copy(),
                            parts_present=self.parts_present[idx].copy(), part_map=self.part_map[idx].copy(),
                            class_parts=self.class_parts,
                            drawn_labels=None if self.drawn_labels is None else self.drawn_labels[idx].copy())


# ----------------------------------------------------------------------------- vectorised shapes
# rr, cc: pixel-centre grids (1, H, W); every parameter is an (N,) array broadcast to (N, 1, 1).

def _col(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)[:, None, None]


def _ellipse(rr, cc, cy, cx, ry, rx, angle=None) -> np.ndarray:
    dy, dx = rr - _col(cy), cc - _col(cx)
    if angle is not None:
        cos, sin = np.cos(_col(angle)), np.sin(_col(angle))
        dy, dx = cos * dy - sin * dx, sin * dy + cos * dx
    return (dy / _col(ry)) ** 2 + (dx / _col(rx)) ** 2 <= 1.0


def _triangle(rr, cc, p0, p1, p2) -> np.ndarray:
    """Pixels inside the triangle with vertices p0, p1, p2 (each a pair of (N,) arrays (row, col))."""
    def side(a, b):
        return (cc - _col(b[1])) * (_col(a[0]) - _col(b[0])) - (_col(a[1]) - _col(b[1])) * (rr - _col(b[0]))

    d0, d1, d2 = side(p0, p1), side(p1, p2), side(p2, p0)
    has_neg = (d0 < 0) | (d1 < 0) | (d2 < 0)
    has_pos = (d0 > 0) | (d1 > 0) | (d2 > 0)
    return ~(has_neg & has_pos)


def _segment(rr, cc, a, b, half_width) -> np.ndarray:
    """Pixels within ``half_width`` of the segment a-b (a capsule)."""
    ay, ax, by, bx = _col(a[0]), _col(a[1]), _col(b[0]), _col(b[1])
    vy, vx = by - ay, bx - ax
    t = np.clip(((rr - ay) * vy + (cc - ax) * vx) / np.maximum(vy * vy + vx * vx, 1e-9), 0.0, 1.0)
    return (rr - ay - t * vy) ** 2 + (cc - ax - t * vx) ** 2 <= _col(half_width) ** 2


# ----------------------------------------------------------------------------- generator

def make_parts_dataset(n_per_class: int = 100, size: int = 64, seed: int = 0, *,
                       classes: list[str] | None = None, noise: float = 0.04, clutter: int = 3,
                       shuffle: bool = True, fine_grained: bool = False,
                       atypical: float | None = None) -> PartsDataset:
    """Draw ``n_per_class`` synthetic birds per class as ``size`` x ``size`` RGB images.

    Deterministic for a given ``seed``. ``classes`` picks a subset of ``BIRD_CLASSES`` (default all
    six). ``noise`` is the std of per-pixel Gaussian noise, ``clutter`` the number of random
    background blobs per image. ``shuffle`` mixes the class order.

    ``fine_grained=True`` draws the eight classes of ``FINE_GRAINED_CLASSES`` instead (or the
    ``classes`` subset of them): the same parts everywhere, classes told apart only by the
    combination of wing colour, tail length and crest. Each of those three attributes is
    swapped to its other value with probability ``atypical`` per bird (default 0.03), which
    caps any classifier's accuracy near (1 - atypical)^3 (``drawn_labels`` says how each bird
    was drawn).
    """
    table = FINE_GRAINED_CLASSES if fine_grained else BIRD_CLASSES
    names = list(table) if classes is None else list(classes)
    unknown = [c for c in names if c not in table]
    if unknown or not names:
        raise ValueError(f"unknown bird classes {unknown}; choose from {list(table)}")
    if n_per_class < 1 or size < 16:
        raise ValueError(f"need n_per_class >= 1 and size >= 16, got {n_per_class} and {size}")
    if atypical is not None and not fine_grained:
        raise ValueError("atypical applies to the fine-grained task only: pass fine_grained=True")
    atypical = 0.03 if atypical is None else float(atypical)
    if not 0.0 <= atypical <= 0.5:
        raise ValueError(f"atypical must be a probability in [0, 0.5], got {atypical}")
    rng = np.random.default_rng(seed)
    n = n_per_class * len(names)
    labels = np.repeat(np.arange(len(names)), n_per_class)
    if shuffle:
        labels = labels[rng.permutation(n)]
    # ``drawn``: index into ``looks``, the class specs the birds are drawn with
    looks, drawn = [table[c] for c in names], labels
    if fine_grained:
        looks = list(FINE_GRAINED_CLASSES.values())
        combo = np.array([_FG_COMBOS.index(tuple(table[c]["attributes"][k] for k in FINE_GRAINED_ATTRIBUTES))
                          for c in names])[labels]
        bits = np.array(_FG_COMBOS)[combo] != np.array([v[0] for _, v in FINE_GRAINED_ATTRIBUTES.values()])
        bits ^= rng.random(bits.shape) < atypical
        values = [np.where(bits[:, i], v[1], v[0]) for i, (_, v) in enumerate(FINE_GRAINED_ATTRIBUTES.values())]
        drawn = np.array([_FG_COMBOS.index(t) for t in zip(*values)], dtype=np.int64)
        nuisance = rng.integers(len(_FG_NUISANCE), size=n)
    S = float(size)
    rr, cc = np.mgrid[0:size, 0:size].astype(np.float32)
    rr, cc = rr[None] + np.float32(0.5), cc[None] + np.float32(0.5)  # pixel centres

    # background: a tinted plane with a vertical gradient, noise added at the end, clutter blobs
    base = _BACKGROUNDS[rng.integers(len(_BACKGROUNDS), size=n)]
    base = base + rng.uniform(-0.05, 0.05, size=(n, 3))
    grad = rng.uniform(-0.12, 0.12, size=n)[:, None, None] * (rr / S - 0.5)
    img = base[:, None, None, :] + grad[..., None]
    img = np.broadcast_to(img, (n, size, size, 3)).copy()
    for _ in range(clutter):
        mask = _ellipse(rr, cc, rng.uniform(0, S, n), rng.uniform(0, S, n), rng.uniform(0.02, 0.07, n) * S,
                        rng.uniform(0.04, 0.18, n) * S, rng.uniform(0, np.pi, n))
        color = rng.uniform(0.15, 0.85, size=(n, 3))
        img = np.where(mask[..., None], color[:, None, None, :], img)

    # bird pose: centre, scale u, facing d (+1: right, -1: left), brightness jitter
    u = S * rng.uniform(0.82, 1.0, n)
    d = rng.choice([-1.0, 1.0], size=n)
    by = S * (0.5 + rng.uniform(-0.05, 0.05, n))
    bx = S * (0.5 + rng.uniform(-0.06, 0.06, n))
    shade = rng.uniform(0.88, 1.08, n)

    def per_class(key, index=None, default=0.0):
        vals = []
        for look in looks:
            v = look.get(key, None)
            vals.append(default if v is None else (v if index is None else v[index]))
        return np.asarray(vals, dtype=np.float64)[drawn]

    has = np.stack([np.array([p in look["colors"] for look in looks])[drawn] for p in PART_NAMES], 1)
    body_ry, body_rx = per_class("body", 0) * u, per_class("body", 1) * u
    head_y, head_x, head_r = by - 0.75 * body_ry - 0.05 * u, bx + d * (0.8 * body_rx), 0.085 * u
    beak_len, beak_w, beak_droop = per_class("beak", 0) * u, per_class("beak", 1) * u, per_class("beak", 2) * u
    tail_len, tail_w = per_class("tail", 0) * u, per_class("tail", 1) * u
    crest_len, legs_len = per_class("crest") * u, per_class("legs") * u
    tail_root = bx - d * 0.85 * body_rx
    leg_top = by + 0.8 * body_ry
    eye_y, eye_x = head_y - 0.02 * u, head_x + d * 0.035 * u

    # (mask, nominal centre) per part; drawn in this order, later parts cover earlier ones
    shapes = {
        "tail": (_triangle(rr, cc, (by - tail_w, tail_root), (by + tail_w * 0.6, tail_root),
                           (by - 0.4 * tail_len, tail_root - d * tail_len)),
                 (by - 0.15 * tail_len, tail_root - d * 0.35 * tail_len)),
        "legs": (_segment(rr, cc, (leg_top, bx - 0.05 * u), (leg_top + legs_len, bx - 0.06 * u),
                          np.maximum(0.018 * u, 0.75))
                 | _segment(rr, cc, (leg_top, bx + 0.05 * u), (leg_top + legs_len, bx + 0.04 * u),
                            np.maximum(0.018 * u, 0.75)),
                 (leg_top + 0.5 * legs_len, bx)),
        "body": (_ellipse(rr, cc, by, bx, body_ry, body_rx), (by + 0.3 * body_ry, bx)),
        "wing": (_ellipse(rr, cc, by - 0.1 * body_ry, bx - d * 0.15 * body_rx, 0.5 * body_ry, 0.6 * body_rx,
                          d * 0.35), (by - 0.1 * body_ry, bx - d * 0.15 * body_rx)),
        "head": (_ellipse(rr, cc, head_y, head_x, head_r, head_r), (head_y + 0.4 * head_r, head_x - d * 0.3 * head_r)),
        "crest": (_triangle(rr, cc, (head_y - 0.6 * head_r, head_x - d * 0.5 * head_r),
                            (head_y - 0.6 * head_r, head_x + d * 0.3 * head_r),
                            (head_y - head_r - crest_len, head_x - d * 0.9 * head_r)),
                  (head_y - head_r - 0.3 * crest_len, head_x - d * 0.3 * head_r)),
        "beak": (_triangle(rr, cc, (head_y - beak_w, head_x + d * 0.8 * head_r),
                           (head_y + beak_w, head_x + d * 0.8 * head_r),
                           (head_y + beak_droop, head_x + d * (head_r + beak_len))),
                 (head_y + 0.3 * beak_droop, head_x + d * (head_r + 0.3 * beak_len))),
        "eye": (_ellipse(rr, cc, eye_y, eye_x, np.maximum(0.028 * u, 0.9), np.maximum(0.028 * u, 0.9)),
                (eye_y, eye_x)),
    }
    part_map = np.full((n, size, size), -1, dtype=np.int8)
    for name, (mask, _) in shapes.items():
        p = PART_NAMES.index(name)
        mask = mask & has[:, p, None, None]
        color = np.array([_C[look["colors"].get(name, "black")] for look in looks])[drawn]
        if fine_grained and name in ("body", "head"):
            color = np.array([_C[c] for c in _FG_NUISANCE])[nuisance]
        color = np.clip(color * shade[:, None] + rng.uniform(-0.04, 0.04, size=(n, 3)), 0, 1)
        img = np.where(mask[..., None], color[:, None, None, :], img)
        part_map[mask] = p

    img = img + rng.normal(0.0, noise, size=img.shape)
    images = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)

    # keypoints: the visible pixel of each part nearest to its nominal centre (batched argmin)
    P = len(PART_NAMES)
    keypoints = np.full((n, P, 2), np.nan, dtype=np.float32)
    present = np.zeros((n, P), dtype=bool)
    for name, (_, (ky, kx)) in shapes.items():
        p = PART_NAMES.index(name)
        visible = part_map == p
        dist = np.where(visible, (rr - _col(ky)) ** 2 + (cc - _col(kx)) ** 2, np.inf).reshape(n, -1)
        flat = dist.argmin(1)
        ok = np.isfinite(dist[np.arange(n), flat])
        present[:, p] = ok
        keypoints[ok, p, 0] = (flat[ok] // size).astype(np.float32)
        keypoints[ok, p, 1] = (flat[ok] % size).astype(np.float32)

    bird = part_map >= 0
    rows, cols = bird.any(2), bird.any(1)
    boxes = np.stack([rows.argmax(1), cols.argmax(1),
                      size - rows[:, ::-1].argmax(1), size - cols[:, ::-1].argmax(1)], 1).astype(np.float32)

    if fine_grained:
        class_parts = {c: {p: ("varies" if p in ("body", "head") else _describe(table[c], p))
                           for p in PART_NAMES if p in table[c]["colors"]} for c in names}
        drawn_labels = np.array([names.index(list(table)[k]) if list(table)[k] in names else -1 for k in drawn])
    else:
        class_parts = {c: {p: _describe(table[c], p) for p in PART_NAMES if p in table[c]["colors"]} for c in names}
        drawn_labels = labels
    return PartsDataset(images=images, labels=labels.astype(np.int64), classes=names, part_names=list(PART_NAMES),
                        keypoints=keypoints, boxes=boxes, parts_present=present, part_map=part_map,
                        class_parts=class_parts, drawn_labels=drawn_labels.astype(np.int64))


def _describe(spec: dict, part: str) -> str:
    color = spec["colors"][part].replace("_", " ")
    if part == "beak":
        length = spec["beak"][0]
        shape = "long" if length >= 0.12 else "short" if length <= 0.08 else "medium"
        return f"{color}, {shape}" + (", curved down" if spec["beak"][2] >= 0.04 else "")
    if part == "tail":
        return f"{color}, {'long' if spec['tail'][0] >= 0.2 else 'short' if spec['tail'][0] <= 0.1 else 'medium'}"
    if part == "legs":
        return f"{color}, {'long' if spec['legs'] >= 0.15 else 'short'}"
    if part == "crest":
        return f"{color}, pointed"
    return color
