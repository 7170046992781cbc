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
# # How good are the explanations? The XNN paper's Table 1
#
# An XNN is a good explanation if it is **faithful** (it reproduces the classifier's score),
# its x-features are **orthogonal** (each shows something different) and **local** (each
# concentrates on one part of the object). The XNN paper compares its sparse reconstruction
# autoencoder (**SRAE**) with baselines that share the interface:
#
# - **NN**: the same network trained on faithfulness (and pull-away) only, no reconstruction;
# - **SAE**: plain mean-squared reconstruction instead of SRAE's log penalty;
# - **CAE**: an autoencoder trained on reconstruction alone, the output weights fitted afterwards;
# - **Lasso**: an L1 linear model on the layer; its few non-zero inputs are the "x-features";
# - **1-Heatmap**: one heatmap of the class score itself, the usual single-map explanation
#   (only its locality is defined).
#
# The measures (definitions §2, §4):
#
# | row | meaning | best |
# |---|---|---|
# | F_reg | mean abs. difference of XNN and CNN scores | 0 |
# | F_cls | share of images whose predicted class survives swapping in the XNN's score | 1 |
# | O1 | ‖P‖_F − √n, P the correlation of the n x-feature maps | 0 |
# | O2 | −log det P | 0 |
# | Locality | entropy of how the maps' mass falls on the bird's parts (+ context) | low |
#
# Locality needs part locations, so the comparison runs on the synthetic birds of
# `make_parts_dataset`, whose parts are known.

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
TRAIN_PER_CLASS = 200      # training birds per class (6 classes)
TEST_PER_CLASS = 50        # test birds per class
IMAGE_SIZE = 64
CNN_EPOCHS = 6
XNN_EPOCHS = 20            # for the neural methods (SRAE, NN, SAE, CAE)
MAPS_PER_CLASS = 50        # test images per class whose x-feature maps are measured
N_FEATURES = 5             # x-features per class, as in the paper
SEED = 0

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import torch

import xnaming_widget as xw

torch.manual_seed(SEED)
print("xnaming-widget", xw.__version__, "| torch", torch.__version__)

# %% [markdown]
# ## 1. Data and classifier
#
# `compare_methods` can make both itself; we make them here so we can look at them and reuse
# the classifier.

# %%
train = xw.make_parts_dataset(TRAIN_PER_CLASS, size=IMAGE_SIZE, seed=SEED)
test = xw.make_parts_dataset(TEST_PER_CLASS, size=IMAGE_SIZE, seed=SEED + 1)
cnn = xw.train_classifier(train, test, epochs=CNN_EPOCHS, batch_size=32, seed=SEED)  # small set: small batches
print(f"{len(train)} training and {len(test)} test birds; CNN test accuracy {cnn.test_accuracy:.3f}")

# %% [markdown]
# ## 2. Table 1
#
# For every method, one XNN per class is fitted on the training birds' `fc6` features;
# faithfulness is measured on train and test; x-feature heatmaps (c-MWP) are drawn on up to
# `MAPS_PER_CLASS` test birds per class, and orthogonality and locality computed from them.

# %%
neural = {"epochs": XNN_EPOCHS, "seed": SEED}
table = xw.compare_methods(train, test, dnn=cnn, layer="fc6", n_features=N_FEATURES,
                        maps_per_class=MAPS_PER_CLASS,
                        xnn_params={m: neural for m in ("srae", "nn", "sae", "cae")}, seed=SEED)
table.round(3)

# %% [markdown]
# Which method is best on each row (lowest, except F_cls where highest wins)?

# %%
higher_is_better = {"F_cls train", "F_cls test"}
best = {row: (table.loc[row].idxmax() if row in higher_is_better else table.loc[row].idxmin())
        for row in table.index}
best

# %% [markdown]
# ## 3. The same numbers as bars
#
# Faithfulness first (SRAE should be as faithful as NN, which optimises nothing else), then
# the map measures, where the reconstruction terms should pay off.

# %%
fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
for ax, row in zip(axes, ["F_reg test", "F_cls test", "O1", "Locality"]):
    values = table.loc[row].dropna()
    ax.bar(values.index, values.to_numpy(), color=["tab:red" if m == "SRAE" else "tab:gray" for m in values.index])
    ax.set_title(row + (" (higher is better)" if row in higher_is_better else " (lower is better)"), fontsize=10)
    ax.tick_params(axis="x", rotation=45)
fig.tight_layout()

# %% [markdown]
# ## Reading the table
#
# - **Faithfulness comes first.** An XNN whose F_cls is clearly below 1 changes the
#   classifier's decisions, and its x-features explain something else. CAE, whose
#   x-features are learnt without looking at the class score at all, is the one to watch.
# - **SRAE against NN** isolates what the sparse reconstruction term buys: both are trained
#   to be faithful; only SRAE must also keep the layer's information in its x-features. The
#   paper found it equally faithful and more orthogonal and local.
# - **1-Heatmap** is the usual one-map explanation: one map has to show every part that
#   matters, so expect the highest locality entropy.
# - On these small synthetic birds the differences between the neural methods are small and
#   move with the seed; raise `TRAIN_PER_CLASS`, `XNN_EPOCHS` and `MAPS_PER_CLASS` before
#   reading much into them. The paper's own setting is `xw.xnn.PAPER_SETTINGS` (hidden
#   layers 800 and 100), pass it per method through `xnn_params`.

# %%
summary = {
    "methods": list(table.columns),
    "rows": list(table.index),
    "table": {m: {r: (None if np.isnan(v) else round(float(v), 5)) for r, v in table[m].items()}
              for m in table.columns},
}
print(json.dumps(summary))
