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
# # Quickstart: explain a Fashion-MNIST classifier in your own words
#
# This notebook runs the whole pipeline of **xnaming-widget** on its built-in example:
#
# 1. train a small CNN on Fashion-MNIST (or load it from the cache),
# 2. fit one **explanation network (XNN)** per class: a few non-negative *x-features* that
#    reproduce the CNN's class score,
# 3. check how faithful the XNNs are (F_reg, F_cls, xNN accuracy next to the CNN's),
# 4. build the **activation set**: for every image of a category, the x-features that decide
#    its score (*significant* ones), each with a c-MWP heatmap,
# 5. **name** those activations in the widget: drag thumbnails that show the same thing into a
#    concept and give it a name (every change is autosaved to a file),
# 6. turn the saved naming into the **global explanation** of the category: which
#    combinations of named concepts explain how many images.
#
# With the defaults it runs in a few minutes on a 2-core CPU (the CNN is trained once and
# then loaded from `~/.cache/xnaming-widget`).

# %% [markdown]
# ## Parameters
#
# The sizes of every step. Smaller numbers run faster and explain less well.

# %% tags=["parameters"]
TRAIN_IMAGES = 60_000      # Fashion-MNIST training images for the CNN (60 000 = all)
CNN_EPOCHS = 5             # ~90 % test accuracy after 5 epochs
XNN_IMAGES = 2_000         # test images the XNNs are fitted on
XNN_EPOCHS = 20            # XNN training epochs
HELD_OUT_IMAGES = 2_000    # other test images: faithfulness is measured and activations shown on them
CATEGORIES = ["Sneaker", "Trouser"]  # categories to build activations for; the widget names the first
ANNOTATOR = "me"           # your name: namings by different people stay apart
NAMING_DIR = "namings"     # where the widget autosaves (relative to this notebook)
SEED = 0

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import xnaming_widget as xw
from xnaming_widget import plots

torch.manual_seed(SEED)
print("xnaming-widget", xw.__version__, "| torch", torch.__version__)

# %% [markdown]
# ## 1. Data and classifier
#
# `load_fashion_mnist` reads the IDX files from the Debian package `dataset-fashion-mnist`
# (or `$XNAMING_DATA`, or the user cache; `download=True` fetches them). The training set
# teaches the CNN; the test set is split in two: one part to fit the XNNs on, the other held
# out to check them and to show in the widget.
#
# `train_classifier` caches the trained weights under a key that hashes the data, the
# hyper-parameters and the seed, so running this cell again loads the model in a second.
# (`xw.demo_classifier()` does the same on the full training set in one call.)

# %%
train = xw.load_fashion_mnist(split="train")
test = xw.load_fashion_mnist(split="test")
if TRAIN_IMAGES < len(train):
    picks = np.random.default_rng(SEED).choice(len(train), TRAIN_IMAGES, replace=False)
    train = train.subset(np.sort(picks))
fit_images = test.subset(slice(0, XNN_IMAGES))
held_out = test.subset(slice(XNN_IMAGES, XNN_IMAGES + HELD_OUT_IMAGES))
classes = train.classes
print(f"{len(train)} training images, {len(fit_images)} for the XNNs, {len(held_out)} held out")
print("classes:", classes)

# %%
cnn = xw.train_classifier(train, held_out, epochs=CNN_EPOCHS, seed=SEED)
print(f"CNN accuracy on the held-out images: {cnn.test_accuracy:.3f}"
      f" ({'loaded from cache' if cnn.loaded_from_cache else 'trained now'})")

# %% [markdown]
# A few test images with the CNN's prediction, to see what the classes look like.

# %%
images, labels = held_out.tensors()
with torch.no_grad():
    predicted = cnn(images[:8]).argmax(1)
fig, axes = plt.subplots(1, 8, figsize=(12, 2))
for ax, image, p, y in zip(axes, images[:8], predicted, labels[:8]):
    ax.imshow(image[0], cmap="gray")
    ax.set_title(f"{classes[p]}\n(true: {classes[y]})", fontsize=8)
    ax.set_axis_off()

# %% [markdown]
# ## 2. Explanation networks
#
# The XNNs read the CNN's `fc6` layer (256 numbers per image, after the ReLU). For every class c,
# an XNN compresses them into 5 non-negative x-features E and predicts the class score
# ŷ_c ≈ ȳ_c = vᵀE + b. One x-feature's *contribution* is v_k·E_k: the evidence it adds for
# (or, with v_k < 0, against) the class. `fit_class_xnns` trains the XNNs of all ten classes
# together as one batched model.

# %%
extractor = xw.FeatureExtractor(cnn, "fc6")
fit_features = extractor.extract(fit_images)
bank = xw.fit_class_xnns(fit_features.Z, fit_features.logits, classes, n_features=5,
                         epochs=XNN_EPOCHS, seed=SEED)
bank

# %% [markdown]
# ### Are the XNNs faithful?
#
# An explanation is only worth reading if it reproduces the model. On the held-out images:
#
# - **F_reg**: mean |ȳ_c − ŷ_c|, in logit units (smaller is better);
# - **F_cls**: fraction of images whose predicted class stays the same when the CNN's score of
#   class c is replaced by the XNN's (1 is best);
# - **xNN accuracy**: accuracy when *every* class score is replaced by its XNN's, next to the
#   CNN's own accuracy.

# %%
held_features = extractor.extract(held_out)
faithfulness = xw.faithfulness_table(bank, held_features.Z, held_features.logits, held_features.labels)
faithfulness.round(3)

# %% [markdown]
# ## 3. The activation set
#
# For each image the CNN predicts as one of `CATEGORIES`, the category's XNN splits the score
# into contributions. The **significant** x-features are the fewest positive contributions
# that outweigh all the negative ones (MSX). Each significant (image, x-feature) pair is an
# *activation*: we draw where in the image the x-feature looks, with contrastive excitation
# backprop (c-MWP), as the papers did. The table has one row per image × x-feature.

# %%
activations = xw.build_activations(cnn, "fc6", bank, held_out, categories=CATEGORIES, method="cmwp")
print(activations)
activations.table.head()

# %%
significant = activations.table[activations.table["significant"]]
significant.groupby("category")["xfeature"].value_counts().unstack(fill_value=0)

# %% [markdown]
# The table counts the significant activations per x-feature. MSX is strict: when one
# x-feature alone outweighs the negative evidence, it is the whole explanation, and a
# category may be carried by one or two x-features. To see more per image, build the set
# with `significance="top_fraction"` (the formative study's rule: the fewest x-features
# holding 90 % of the positive evidence).

# %% [markdown]
# ### Where the maps are read: maps people can name
#
# People name what they see in a heatmap; a map on the image's edge or on the black
# background gives them nothing to name. c-MWP can read its maps at any layer below the
# XNN's, and the layer decides where they land. `build_activations` chose the layer printed
# below by a documented rule (`xw.heatmaps.map_layer`): on images this small (28 px) the
# **input**, i.e. pixel-level maps; on large images the last layer whose maps are at least
# 14×14. `attribute_kwargs={"layer": ...}` reads them elsewhere.
#
# Here are the same activations read at three layers: the last conv block (7×7, the former
# default), the first conv layer (28×28) and the input. For each, `xw.metrics.on_object`
# measures over all significant activations, with the garment taken as its pixels brighter
# than 0.05: the **share of the map's mass on the garment**, whether the map's **peak** (the
# centre of its hottest 3×3 patch, `xw.metrics.map_peaks`) is on it, whether the peak lies
# **within 2 px of the image's border**, and the **region share** (how much of the map's hot
# half forms one connected region: 1 for a blob, near 0 for speckle).

# %%
from xnaming_widget import metrics
from xnaming_widget.heatmaps import XFeatureModel, attribute

print("maps read at:", activations.meta["config"]["attribute_kwargs"]["layer"])
LAYERS = {"last conv block (7x7)": "features.pool2", "first conv layer (28x28)": "features.relu1",
          "input (the default)": "input"}
held_images, _ = held_out.tensors()
shown = significant.reset_index(drop=True)
index = np.array([int(i[3:]) for i in shown["image_id"]])  # "img00042": held_out[42]
masks = metrics.foreground_masks(held_images[index])
maps_at = {}
for name, layer in LAYERS.items():
    maps_at[name] = np.zeros((len(shown), 28, 28), np.float32)
    for category in shown["category"].unique():  # each category's maps come from its own XNN
        mine = np.flatnonzero(shown["category"].to_numpy() == category)
        model = XFeatureModel(cnn, "fc6", bank[category])
        maps_at[name][mine] = attribute(model, held_images[index[mine]],
                                        targets=shown["xfeature"].to_numpy()[mine, None], layer=layer)[:, 0]
layer_figures = pd.DataFrame({name: metrics.on_object(maps, masks).mean() for name, maps in maps_at.items()}).T
layer_figures[["mass_on_object", "peak_on_object", "peak_at_border", "region_share"]].round(3)

# %% [markdown]
# Read at the last conv block, a map is a few large blobs: much of its mass falls off the
# garment and many peaks sit at the image's edge, because every conv layer smears its map past
# the garment's outline by its receptive field, a large share of a 28-pixel image. After the
# first conv layer the maps are speckle. At the input they stay on the garment and form small
# regions (heel, toe cap, sole) that a person can point at and name; a blur would make
# them rounder but moves their peaks towards the image's edge (`bench/on_object.py` measures
# both). The garment's outline is drawn in white and each map's peak is marked with a cross;
# the maps are drawn as the widget's thumbnails draw them (bilinear):

# %%
show = np.arange(min(8, len(shown)))
fig, axes = plt.subplots(len(LAYERS) + 1, len(show), figsize=(1.6 * len(show), 1.7 * (len(LAYERS) + 1)),
                         squeeze=False)
for column, k in enumerate(show):
    axes[0, column].imshow(held_images[index[k], 0], cmap="gray")
    axes[0, column].set_title(shown["activation_id"].iloc[k].replace("/", "\n", 1), fontsize=6)
    for row, (name, maps) in enumerate(maps_at.items(), start=1):
        ax = axes[row, column]
        ax.imshow(maps[k], cmap="inferno", interpolation="bilinear")
        ax.contour(masks[k], levels=[0.5], colors="white", linewidths=0.6)
        peak_row, peak_col = metrics.map_peaks(maps[k])
        ax.plot(peak_col, peak_row, "c+", markersize=9)
        if column == 0:
            ax.set_ylabel(name, fontsize=7)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# ## 4. Name the activations
#
# The widget shows the significant activations of one category as heatmap thumbnails.
# Select some (click; Ctrl/Cmd-click adds one, Shift-click a range), press **N** to make a
# concept of them and name it (say *toe cap* or *heel*; **F2** renames). Drag thumbnails
# between concepts, into *trash* (nothing worth naming) or back to *unlabeled*; keys **1-9**
# move the selection to a concept and **X** to the trash. **Ctrl-Z** undoes, **?** lists
# every key.
#
# Every change is written at once to the autosave file. Running the cell again restores your
# naming from that file, so nothing is lost when the kernel restarts. The file name carries
# the activation set's fingerprint: if you change the parameters above, you get a fresh file
# instead of an error about a naming made for other activations.

# %%
CATEGORY = CATEGORIES[0]
naming_file = Path(NAMING_DIR) / f"{ANNOTATOR}-{CATEGORY}-{activations.fingerprint[:8]}.json"
widget = xw.NamingWidget(activations, category=CATEGORY, annotator=ANNOTATOR, autosave=naming_file)
widget

# %% [markdown]
# ### Running unattended? This cell names a few activations for you
#
# If you named activations in the widget above, this cell leaves your work alone. If nothing
# is named yet (for example when the notebook runs headless, in a test), it plays a quick and
# crude annotator through the widget's Python API, the same operations the browser sends:
# it names every activation by where its heatmap peaks (`metrics.map_peaks`: "upper left",
# "lower centre", ...) with `create_concept`, and puts the members of tiny groups into the
# trash with `move`.
# A person would look at the thumbnails and name what they see instead.

# %%
if widget.concepts.empty:
    rows = significant[significant["category"] == CATEGORY]
    maps = activations.heatmaps[activations.heatmap_rows[rows.index]].astype(np.float32)
    height, width = maps.shape[1:]
    peak_row, peak_col = metrics.map_peaks(maps).T
    band = np.array(["upper", "middle", "lower"])[np.minimum(3 * peak_row // height, 2)]
    side = np.array(["left", "centre", "right"])[np.minimum(3 * peak_col // width, 2)]
    region = np.char.add(np.char.add(band, " "), side)
    ids = rows["activation_id"].to_numpy()
    for name in sorted(set(region)):
        members = ids[region == name]
        if len(members) >= 3:
            widget.create_concept(name, members)
        else:
            widget.move(members, "trash")
widget.concepts

# %% [markdown]
# ## 5. From the saved naming to the global explanation
#
# Analysis reads the naming **file**, not the widget: namings are files you can collect from
# several people (see `03_compare_annotators.ipynb`). `Namings` loads and checks them against
# the activation set. Concepts with fewer than 3 members are dissolved and trash counts as
# unnamed (definitions §6).
#
# An image's **local explanation** is the set of concept names of its significant
# activations ("other" for unnamed ones); the **global explanation** of the category is how
# often each local explanation occurs.

# %%
namings = xw.Namings(naming_file, activations=activations)
mine = namings.get(ANNOTATOR, CATEGORY)
coverage = xw.coverage(namings, activations)
coverage

# %%
global_table = xw.global_explanation(mine, activations)
fig = plots.plot_global_explanation(global_table, title=f"{CATEGORY}: global explanation ({ANNOTATOR})")

# %% [markdown]
# What does each concept look like? A row of thumbnails per concept:

# %%
fig = plots.plot_gallery(mine, activations.thumbnail, activations=activations)

# %% [markdown]
# ## Summary
#
# The key numbers in one place (the notebook tests read this line).

# %%
overall = faithfulness.loc["overall"]
summary = {
    "cnn_accuracy": float(overall["dnn_accuracy"]),
    "xnn_accuracy": float(overall["xnn_accuracy"]),
    "f_cls": float(overall["F_cls"]),
    "f_reg": float(overall["F_reg"]),
    "category": CATEGORY,
    "naming_file": str(naming_file.resolve()),
    "n_significant": int(coverage.loc[coverage["annotator"] == ANNOTATOR, "n_significant"].iloc[0]),
    "activation_coverage": float(coverage.loc[coverage["annotator"] == ANNOTATOR, "activation_coverage"].iloc[0]),
    "global_explanation": {" + ".join(e): round(float(f), 4)
                           for e, f in zip(global_table["explanation"], global_table["fraction"])},
    "on_object": {name: {k: round(float(v), 4) for k, v in figures.items()}
                  for name, figures in layer_figures.iterrows()},
}
print(json.dumps(summary))

# %% [markdown]
# ## Next
#
# - `02_your_own_model.ipynb`: the same steps with your own classifier and images.
# - `03_compare_annotators.ipynb`: several people's namings: coverage, agreement, purity.
# - `04_explanation_metrics.ipynb`: how SRAE compares with other XNN methods (the XNN paper's Table 1).
