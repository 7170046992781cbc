"""Benchmark: heatmaps on EfficientNet-Lite0 (real weights), as ratios to one no-grad forward.

8 images 224×224 (seeded random pixels in [-1, 1], the model's input range), the top-5
classes of each. Every row is timed right after a no-grad forward of the same 8 images, in
turn, ``--repeats`` times, and reported as the median and range of (row time / forward
time): load from other processes hits both sides.

- limit: one forward plus one batched backward to ``_conv_head`` (all a Grad-CAM needs);
- Grad-CAM at ``_conv_head``; c-MWP at ``_conv_head`` and at ``_blocks.10``;
- pytorch-grad-cam's GradCAM looping over the 5 classes (when ``grad-cam`` is installed),
  and the correlation of its maps with ours.

Where CUDA is present (or with ``--device cuda``), the same rows run on the GPU too, plus the
autocast (float16) path, with its largest deviation from the float32 maps.

    python bench/heatmaps_real.py [--repeats 5] [--threads 2] [--device auto|cpu|cuda]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from xnaming_widget._torch import capture_output, resolve_device
from xnaming_widget.heatmaps import attribute
from xnaming_widget.heatmaps._batching import grad_per_target

N_IMAGES, N_CLASSES, SIZE = 8, 5, 224
HEAD, MIDDLE = "_conv_head", "_blocks.10"


def _model():
    try:
        from xnaming_widget.models import load_efficientnet_lite0

        return load_efficientnet_lite0(pretrained=True)
    except ImportError as error:
        sys.exit(f"needs EfficientNet-Lite0: {error}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _limit(net, images, targets):
    """One forward and one batched backward to the Grad-CAM layer: no method can do less."""
    seeds = torch.nn.functional.one_hot(torch.as_tensor(targets, device=images.device), 1000).to(images.dtype)
    with torch.enable_grad(), capture_output(dict(net.named_modules())[HEAD], 0, leaf=True) as captured:
        output = net(images)
    return grad_per_target(output, captured[0], seeds)


def _pytorch_grad_cam(net, images, targets):
    """pytorch-grad-cam's GradCAM at the same layer, one call per class rank (its API takes one target per image)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with GradCAM(model=net, target_layers=[net._conv_head]) as cam:
        maps = [cam(input_tensor=images, targets=[ClassifierOutputTarget(int(c)) for c in targets[:, k]])
                for k in range(targets.shape[1])]
    return np.stack(maps, 1)


def _rows(net, images, targets, device, autocast=False):
    common = dict(targets=targets, show_progress=False, device=device, autocast=autocast)
    rows = {
        f"Grad-CAM at {HEAD}": lambda: attribute(net, images, method="gradcam", layer=HEAD, **common),
        f"c-MWP at {HEAD}": lambda: attribute(net, images, method="cmwp", layer=HEAD, **common),
        f"c-MWP at {MIDDLE}": lambda: attribute(net, images, method="cmwp", layer=MIDDLE, **common),
    }
    if not autocast:
        rows = {f"limit: forward + batched backward to {HEAD}": lambda: _limit(net, images, targets), **rows}
    return rows


def _measure(net, images, rows: dict, repeats: int, device: torch.device) -> dict:
    """Per row: the ratios (row time / no-grad forward time) of ``repeats`` alternating runs, and its result."""
    def forward():
        with torch.no_grad():
            net(images)

    ratios = {name: [] for name in rows}
    times: dict[str, list] = {name: [] for name in rows}
    forwards: list[float] = []
    results = {}
    for fn in [forward, *rows.values()]:  # warm-up: allocator, thread pools, the model probe
        fn()
    for _ in range(repeats):
        for name, fn in rows.items():
            _sync(device)
            start = time.perf_counter()
            forward()
            _sync(device)
            middle = time.perf_counter()
            results[name] = fn()
            _sync(device)
            times[name].append(time.perf_counter() - middle)
            forwards.append(middle - start)
            ratios[name].append(times[name][-1] / forwards[-1])
    return {name: (ratios[name], results[name], min(times[name]) / min(forwards)) for name in rows}


def _report(title: str, measured: dict) -> None:
    print(title)
    for name, (ratios, _, best) in measured.items():
        print(f"  {name:<48} {best:5.2f} no-grad forwards (best/best); paired ratios: median "
              f"{statistics.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f}")


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1, a.shape[-2] * a.shape[-1]), b.reshape(-1, b.shape[-2] * b.shape[-1])
    keep = (a.std(1) > 0) & (b.std(1) > 0)
    return float(min(np.corrcoef(x, y)[0, 1] for x, y in zip(a[keep], b[keep])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present, and the CPU), cpu or cuda")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net = _model()
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(N_IMAGES, 3, SIZE, SIZE, generator=generator) * 2 - 1
    with torch.no_grad():
        targets = net(images).topk(N_CLASSES).indices.numpy()
    print(f"EfficientNet-Lite0 (ImageNet weights), {N_IMAGES} images {SIZE}x{SIZE}, top-{N_CLASSES} classes each, "
          f"{args.repeats} repeats, {args.threads} CPU threads")
    devices = [torch.device("cpu")] if args.device == "cpu" else [resolve_device(args.device)]
    if args.device == "auto" and devices[0].type == "cuda":
        devices.append(torch.device("cpu"))
    for device in devices:
        net.to(device)
        feed = images.to(device)
        measured = _measure(net, feed, _rows(net, feed, targets, device), args.repeats, device)
        _report(f"on {device}:", measured)
        gradcam = measured[f"Grad-CAM at {HEAD}"][1]
        try:
            import pytorch_grad_cam  # noqa: F401
        except ImportError:
            print("  (pytorch-grad-cam not installed: `pip install grad-cam` adds its row)")
        else:
            other = _measure(net, feed, {"pytorch-grad-cam looping over the classes":
                                         lambda: _pytorch_grad_cam(net, feed, targets)}, args.repeats, device)
            _report("", other)
            print(f"  Grad-CAM maps vs pytorch-grad-cam's (each normalised to [0, 1]): lowest correlation "
                  f"{_correlation(gradcam, other['pytorch-grad-cam looping over the classes'][1]):.4f}")
        if device.type == "cuda":
            fast = _measure(net, feed, _rows(net, feed, targets, device, autocast=True), args.repeats, device)
            _report(f"on {device} with autocast (float16 forward):", fast)
            for name, (_, maps, _) in fast.items():
                full = measured[name][1]
                peak = full.max(axis=(2, 3), keepdims=True)
                error = float((np.abs(maps - full) / np.where(peak > 0, peak, 1)).max())
                print(f"  {name}: largest deviation from float32 {error:.3f} of the map's peak, lowest "
                      f"correlation {_correlation(maps, full):.4f}")
    net.to("cpu")


if __name__ == "__main__":
    main()
