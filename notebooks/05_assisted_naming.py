# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,language_info,-language_info.version,-language_info.codemirror_mode,-language_info.file_extension,-language_info.mimetype,-language_info.nbconvert_exporter,-language_info.pygments_lexer
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   language_info:
#     name: python
# ---

# %% [markdown]
# # Assisted naming: suggestions, proposed concepts, and naming carried over
#
# Naming by hand costs at least one action per significant activation. The widget can take
# much of that work, and this notebook measures how much:
#
# - **suggestions**: once a concept has a few members, `w.suggest(concept)` ranks the
#   unlabeled activations by how much they look like it (its members are the positive
#   evidence; the other concepts and the suggestions turned down are the negative evidence);
#   `w.accept` takes the right ones as one operation, `w.reject` turns the wrong ones down for good;
# - **proposed concepts**: `w.propose_concepts()` groups the pool into unnamed concepts to
#   name, merge, split or dissolve;
# - **another person's naming**: `NamingWidget(..., start_from=file)` starts from it, and
#   `transfer_naming` carries a naming to new images of the same classifier.
#
# Everything the tool places stays marked *proposed* (or *accepted suggestion*) in the naming
# file and the naming table, so a study can leave it out (`Namings.person_placed()`).
#
# Suggestions compare **descriptors**: what is drawn at each heatmap's peak (the image's colour
# there) and what the classifier sees around it at every resolution (each layer's features
# over the cells around the peak, minus the image's average), plus the x-feature, read in the
# same pass as the heatmaps. A suggestion is ranked by its nearest members in the concept
# against its nearest members in the other concepts, in a metric learned from the naming so
# far (what varies within a concept counts less than what tells concepts apart). The data are the synthetic birds, where the truth is known:
# the part drawn under each heatmap's peak.

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
TRAIN_PER_CLASS = 100      # training birds per class (6 classes)
TEST_PER_CLASS = 100       # test birds per class: their activations get named
IMAGE_SIZE = 64
CNN_EPOCHS = 6
XNN_EPOCHS = 20
CATEGORIES = ["Cardinal", "Mallard", "Flamingo"]  # categories to name
SEED = 0

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import xnaming_widget as xw
from xnaming_widget import analysis
from xnaming_widget._files import write_json_atomic
from xnaming_widget.analysis.assisted import compare_assistance
from xnaming_widget.assist import transfer_naming
from xnaming_widget.widget import NamingWidget

torch.manual_seed(SEED)
print("xnaming-widget", xw.__version__, "| torch", torch.__version__)

# %% [markdown]
# ## 1. Birds, a classifier, its XNNs and the activations with descriptors
#
# As in notebook 03. `build_activations` stores a descriptor for every significant
# activation by default (`descriptors=True`); a set saved without them gets them afterwards
# with `xnaming_widget.assist.add_descriptors(acts, model, data)`, cached in the set's folder
# where later loads find them.

# %%
train = xw.make_parts_dataset(TRAIN_PER_CLASS, size=IMAGE_SIZE, seed=SEED)
test = xw.make_parts_dataset(TEST_PER_CLASS, size=IMAGE_SIZE, seed=SEED + 1)
cnn = xw.train_classifier(train, test, epochs=CNN_EPOCHS, batch_size=32, seed=SEED)
print(f"CNN test accuracy: {cnn.test_accuracy:.3f}")
features = xw.FeatureExtractor(cnn, "fc6").extract(train)
bank = xw.fit_class_xnns(features.Z, features.logits, train.classes, labels=features.labels,
                         epochs=XNN_EPOCHS, seed=SEED)
activations = xw.build_activations(cnn, "fc6", bank, test, categories=CATEGORIES, significance="top_fraction")
print(activations)
print("descriptors:", activations.descriptors.shape, "read at", activations.meta["config"]["descriptor_layer"])

# %% [markdown]
# ## 2. The truth
#
# The true concept of an activation is the part drawn at its heatmap's peak (`part_map`), or
# "context" when the peak is off the bird. Only parts with at least 3 activations in a
# category count: a concept needs 3 members.

# %%
truth = analysis.parts_under_peak(activations, test.keypoints, test.boxes, test.part_names,
                                  image_index=lambda image_id: int(image_id[3:]), part_map=test.part_map)
significant = activations.table[activations.table["significant"]].set_index("activation_id")
truth_counts = truth.groupby(significant.loc[truth.index, "category"]).value_counts().rename("activations")
truth_counts.to_frame().T

# %% [markdown]
# ## 3. Suggestions, step by step
#
# One category, its largest part: a concept started from 3 members, then one round of
# suggestions. The figure marks each suggestion right (green) or wrong (red) against the
# truth; the right ones are accepted as one operation, the wrong ones rejected. The widget
# below shows the same naming: select the concept and press **S** (or its **Suggest**
# button) for the strip of suggestions, **Enter** or **Shift+A** to accept, **R** or ✕ to reject.

# %%
category = CATEGORIES[0]
w = NamingWidget(activations, category=category, annotator="notebook")
shown = [a["id"] for a in w.activations]
part = truth[shown].value_counts().index[0]
members = [a for a in shown if truth[a] == part]
concept = w.create_concept(part, members[:3])
suggested = w.suggest(concept, k=20)
right = [a for a in suggested if truth[a] == part]
wrong = [a for a in suggested if truth[a] != part]
print(f"{category}: {len(members)} activations of '{part}'; {len(right)} of the first 20 suggestions are right")

fig, axes = plt.subplots(2, 10, figsize=(13, 3.2))
for ax, aid in zip(axes.ravel(), suggested):
    ax.imshow(activations.image(significant.at[aid, "image_id"]))
    ax.imshow(activations.heatmap(aid).astype(np.float32), cmap="jet", alpha=0.45)
    ax.set_title(truth[aid], fontsize=8, color="green" if truth[aid] == part else "red")
    ax.set_axis_off()
fig.suptitle(f"suggested for '{part}' (title: the truth)", fontsize=10)
plt.show()

w.accept(concept, right)
if wrong:
    w.reject(concept, wrong)
print("after one round:", len(w.state["concepts"][0]["members"]), "members; next suggestions:",
      sum(truth[a] == part for a in w.suggest(concept, k=20)), "of 20 right")
w

# %% [markdown]
# ## 4. Proposed concepts
#
# `propose_concepts` clusters the pool within each x-feature into proposed concepts of about
# `size` members, as one undoable operation. How pure is each proposal, i.e. what share of
# it is its most common true part?

# %%
fresh = NamingWidget(activations, category=category, annotator="notebook, proposals")
proposed = fresh.propose_concepts(size=20)
purity = [truth[c["members"]].value_counts(normalize=True).iloc[0]
          for c in fresh.state["concepts"] if c["id"] in proposed]
print(f"{len(proposed)} proposed concepts; their majority part holds a median {np.median(purity):.2f} of them")
fresh.close()

# %% [markdown]
# ## 5. How many actions does each way of naming take?
#
# Simulated people who know the truth name every category until at least 0.9 of every
# part's activations sit in its concept (`xnaming_widget.analysis.assisted` says what each
# strategy does and what counts as an action). The transfer strategy starts from another
# simulated person's naming, made with the usual mistakes (skips, trash, misnamed
# activations, split and merged concepts).

# %%
other = analysis.simulate_annotators(activations, truth, 1, skip=0.15, trash=0.03, noise=0.1, split=0.1,
                                     merge=0.05, seed=SEED + 7, prefix="other")
folder = Path(tempfile.mkdtemp())
for doc in analysis.naming_docs(other, fingerprint=activations.fingerprint):
    write_json_atomic(folder / f"{doc['category']}.json", doc)
comparison = compare_assistance(activations, truth, CATEGORIES, other_naming=folder)
comparison

# %%
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.barh(comparison.index[::-1], comparison["per_activation"][::-1], color="tab:blue")
ax.axvline(1.0, color="grey", lw=0.8, ls="--")
ax.set_xlabel("actions per significant activation (lower is better)")
for y, value in enumerate(comparison["per_activation"][::-1]):
    ax.text(value + 0.01, y, f"{value:.2f}", va="center", fontsize=8)
plt.show()

# %% [markdown]
# ## 6. A naming carried over to new images
#
# The truth naming of these birds, carried to an activation set of *other* birds of the same
# classifier by nearest descriptors. Each carried member has a confidence (how much closer
# its nearest source activation is than the nearest one of another concept); how often is it
# right, by confidence?

# %%
new_birds = xw.make_parts_dataset(TEST_PER_CLASS, size=IMAGE_SIZE, seed=SEED + 2)
new_activations = xw.build_activations(cnn, "fc6", bank, new_birds, categories=CATEGORIES,
                                       significance="top_fraction")
new_truth = analysis.parts_under_peak(new_activations, new_birds.keypoints, new_birds.boxes, new_birds.part_names,
                                      image_index=lambda image_id: int(image_id[3:]), part_map=new_birds.part_map)
truth_naming = analysis.naming_docs(analysis.simulate_annotators(
    activations, truth, 1, skip=0, trash=0, noise=0, split=0, merge=0, seed=SEED, prefix="truth"),
    fingerprint=activations.fingerprint)
carried = []
for doc in truth_naming:
    result = transfer_naming(doc, activations, new_activations)
    carried.append(result.dropna(subset=["concept"]))
carried = pd.concat(carried, ignore_index=True)
carried["right"] = carried["concept"].to_numpy(dtype=object) == new_truth[carried["activation_id"]].to_numpy()
bins = pd.cut(carried["confidence"], [0, 0.02, 0.05, 0.1, 1.0], include_lowest=True)
by_confidence = carried.groupby(bins, observed=True)["right"].agg(["mean", "size"]).rename(
    columns={"mean": "share right", "size": "members"})
print(f"{len(carried)} members carried over; {carried['right'].mean():.2f} of them right")
by_confidence

# %% [markdown]
# ## Summary
#
# Read the figures above as they are on this run: how much the suggestions save depends on
# how well the descriptors separate the true concepts, and they may cost more than naming by
# hand. Here the truth is a point (the part under one pixel, the peak), and a hot spot on the
# border of two parts of one colour (a cardinal's red head and body) is one or the other by a
# pixel: no descriptor can tell those apart, and each such case costs a rejection.

# %%
summary = {
    "cnn_accuracy": cnn.test_accuracy,
    "truth_counts": {c: {str(p): int(n) for p, n in truth_counts.loc[c].items()} for c in CATEGORIES},
    "comparison": {s: {"actions": int(r["actions"]), "activations": int(r["activations"]),
                       "per_activation": float(r["per_activation"]), "reached": bool(r["reached"]),
                       "suggestions_right": None if np.isnan(r["suggestions_right"]) else float(r["suggestions_right"])}
                   for s, r in comparison.iterrows()},
    "first_round_right": len(right),
    "proposals": len(proposed),
    "transfer": {"members": int(len(carried)), "share_right": float(carried["right"].mean())},
}
print(json.dumps(summary))
