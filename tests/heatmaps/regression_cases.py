"""The heatmap regression set: fixed models, images and calls whose maps are stored in ``data/``.

``data/regression_maps.npz`` holds the maps that the implementation of commit 46b5044 (the
one that tiled images, before the one-forward engine) gave for every case below. Each map
is stored as its maximum (float32) and the map divided by it (float16), so the file stays
small and the shape keeps ~1e-3 relative precision. ``test_regression.py`` checks that the
current code reproduces them. Regenerate only on purpose (an intended change of the maps):

    python -m tests.heatmaps.regression_cases data/regression_maps.npz
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

DATA = Path(__file__).parent / "data" / "regression_maps.npz"


@dataclass(frozen=True)
class Case:
    name: str
    model: str  # key of MODELS
    method: str
    layer: str | None = None
    options: dict = field(default_factory=dict)


def _demo() -> nn.Module:
    from xnaming_widget.models import DemoCNN

    torch.manual_seed(0)
    return DemoCNN(in_channels=1, n_classes=10, image_size=28).eval()


def _demo_xfeatures() -> nn.Module:
    from xnaming_widget.heatmaps import XFeatureModel

    dnn = _demo()
    torch.manual_seed(1)
    head = nn.Sequential(nn.Linear(256, 16), nn.ReLU(), nn.Linear(16, 5), nn.ReLU())
    return XFeatureModel(dnn, "fc6", head).eval()


def _resnet18() -> nn.Module:
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as in a trained network
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.3, 0.3, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.weight.uniform_(0.3, 1.5, generator=generator)
                module.bias.uniform_(-0.2, 0.2, generator=generator)
    return net


def _efficientnet() -> nn.Module:
    from xnaming_widget.models import load_efficientnet_lite0

    return load_efficientnet_lite0(pretrained=True)


MODELS = {"demo": _demo, "demo_x": _demo_xfeatures, "resnet18": _resnet18, "lite0": _efficientnet}


def images_for(model: str) -> torch.Tensor:
    """Seeded images: Fashion-MNIST-sized in [0, 1] for the demo, 64×64 objects on a ground otherwise."""
    rng = np.random.default_rng(7)
    if model.startswith("demo"):
        return torch.as_tensor(rng.random((3, 1, 28, 28), dtype=np.float32))
    rows, cols = np.meshgrid(np.linspace(-1, 1, 64), np.linspace(-1, 1, 64), indexing="ij")
    batch = []
    for centre in ((0.2, -0.1), (-0.3, 0.25)):
        disk = (((cols - centre[0]) ** 2 + (rows - centre[1]) ** 2) < 0.2).astype(np.float32)
        image = np.stack([disk * 2 - 1, disk * 1.5 - 0.5, -disk]) + 0.2 * rng.standard_normal((3, 64, 64))
        batch.append(image.astype(np.float32))
    return torch.as_tensor(np.stack(batch))


def targets_for(model: nn.Module, images: torch.Tensor, n: int = 3) -> np.ndarray:
    """The top-``n`` outputs of each image (what the papers explain)."""
    with torch.no_grad():
        return model(images).topk(n).indices.numpy()


CASES = [
    Case("demo_cmwp", "demo", "cmwp"),
    Case("demo_mwp", "demo", "mwp"),
    Case("demo_cmwp_input", "demo", "cmwp", "input"),
    Case("demo_gradcam", "demo", "gradcam"),
    Case("demo_ig", "demo", "ig", options={"steps": 8}),
    Case("demo_x_cmwp", "demo_x", "cmwp"),
    Case("demo_x_cmwp_relu1", "demo_x", "cmwp", "features.relu1"),
    Case("resnet18_cmwp", "resnet18", "cmwp"),
    Case("resnet18_cmwp_layer2", "resnet18", "cmwp", "layer2"),
    Case("resnet18_mwp_layer3", "resnet18", "mwp", "layer3"),
    Case("resnet18_gradcam", "resnet18", "gradcam", "layer4"),
    Case("lite0_cmwp_blocks10", "lite0", "cmwp", "_blocks.10"),
    Case("lite0_cmwp_conv_head", "lite0", "cmwp", "_conv_head"),
    Case("lite0_mwp_blocks10", "lite0", "mwp", "_blocks.10"),
    Case("lite0_cmwp_blocks5", "lite0", "cmwp", "_blocks.5"),
    Case("lite0_gradcam_conv_head", "lite0", "gradcam", "_conv_head"),
]


def compute(case: Case, model: nn.Module, images: torch.Tensor, targets: np.ndarray) -> np.ndarray:
    from xnaming_widget.heatmaps import attribute

    return attribute(model, images, method=case.method, targets=targets, layer=case.layer, show_progress=False,
                     **case.options)


def pack(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-map maximum float32 (B, T), map / maximum float16 (B, T, H, W))."""
    peak = maps.max(axis=(2, 3)).astype(np.float32)
    scaled = maps / np.where(peak > 0, peak, 1)[..., None, None]
    return peak, scaled.astype(np.float16)


def main(path: str) -> None:
    out = {}
    models: dict[str, nn.Module] = {}
    for case in CASES:
        if case.model not in models:
            models[case.model] = MODELS[case.model]()
            images = images_for(case.model)
            out[f"{case.model}/targets"] = targets_for(models[case.model], images)
        maps = compute(case, models[case.model], images_for(case.model), out[f"{case.model}/targets"])
        out[f"{case.name}/peak"], out[f"{case.name}/scaled"] = pack(maps)
        print(case.name, maps.shape, float(maps.max()))
    target = Path(__file__).parent / path
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, **out)
    print(target, target.stat().st_size, "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/regression_maps.npz")
