"""``attribute``: batched heatmaps of many targets of many images, by one of four methods."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .._progress import progress
from .._torch import capture_output, resolve_device
from ._batching import RowPlan, upsample_mass
from ._layers import (INPUT, LayerCall, attribution_state, check_baseline, check_images, default_map_layer,
                      model_layout, resolve_layer, tap_call)
from .excitation import cmwp_maps, mwp_maps
from .gradcam import gradcam_maps
from .integrated_gradients import ig_maps
from .targets import resolve_targets

__all__ = ["attribute", "attribute_observed", "METHODS"]

DEFAULT_BATCH_SIZE = 128


@dataclass(frozen=True)
class _Method:
    """How a method computes the maps (B·T, H, W) of a block of images, and where it reads them."""

    compute: Callable  # (model, images, seeds, tap, options) -> maps at the images' resolution
    reads_layer: bool  # maps are read at a layer (False: at the pixels)
    allows_input: bool  # layer="input" is meaningful
    path_points: Callable = lambda options: 1  # forward rows per (image, target) row


def _excitation(maps_at_layer: Callable) -> Callable:
    def compute(model, images, seeds, tap, options):
        return upsample_mass(maps_at_layer(model, images, seeds, tap), tuple(images.shape[-2:]))
    return compute


def _gradcam(model, images, seeds, tap, options):
    return gradcam_maps(model, images, seeds, tap)


def _integrated_gradients(model, images, seeds, tap, options):
    return ig_maps(model, images, seeds, steps=options["steps"], baseline=options["baseline"])


METHODS: dict[str, _Method] = {
    "cmwp": _Method(_excitation(cmwp_maps), reads_layer=True, allows_input=True),
    "mwp": _Method(_excitation(mwp_maps), reads_layer=True, allows_input=True),
    "gradcam": _Method(_gradcam, reads_layer=True, allows_input=False),
    "ig": _Method(_integrated_gradients, reads_layer=False, allows_input=False,
                  path_points=lambda options: options["steps"]),
}


def _map_layer(method: _Method, method_name: str, model: nn.Module, layer, calls: list[LayerCall]):
    if not method.reads_layer:
        if layer is not None:
            raise ValueError(f"method={method_name!r} attributes to the pixels; leave layer=None")
        return None
    if isinstance(layer, str) and layer == INPUT:
        if not method.allows_input:
            raise ValueError(f"method={method_name!r} needs a spatial layer, not the input")
        return None
    tap = default_map_layer(calls) if layer is None else tap_call(calls, *resolve_layer(model, layer))
    if len(tap.shape) != 4:
        raise ValueError(f"maps are read at a spatial layer with (B, C, h, w) output; {tap.name!r} gives "
                         f"{tap.shape}. Pick a conv layer or block (or layer='input' for excitation methods)")
    return tap


def attribute(model: nn.Module, images, *, method: str = "cmwp", targets=None, layer=None,
              batch_size: int | None = None, steps: int = 32, baseline=None,
              show_progress: bool | None = None, device=None, autocast=False) -> np.ndarray:
    """Heatmaps ``float32 (B, T, H, W)``, non-negative, of ``targets`` of each image.

    ``model`` maps images to a (B, K) vector (class logits or x-features, e.g. an
    :class:`XFeatureModel`). ``method``: ``"cmwp"`` (contrastive excitation backprop, the
    papers' choice), ``"mwp"`` (excitation backprop), ``"gradcam"``, ``"ig"`` (integrated
    gradients, ``steps`` path points from ``baseline``, default black; a baseline is one
    image (C, H, W), one per image (B, C, H, W) or a value). ``targets``: None (all K
    outputs), output indices shared by all images, or a (B, T) index array. ``layer``: a
    module or dotted name to read maps at (default: the last spatial layer, i.e. the last
    conv block's output; ``"input"`` for pixel-level excitation maps).

    ``images`` are float (B, C, H, W) as the model takes them: integer (e.g. uint8) images
    and NaN or infinite pixels are refused with an error. Each block of at most
    ``batch_size`` (image, target) rows costs one forward pass over its images and one
    backward pass that carries all their targets at once, whatever the model does with the
    batch size. Excitation maps are probability mass per pixel (an MWP map sums to the
    probability that reaches the layer, 1 in a fully excitatory network).

    ``device``: None (the model's device), ``"auto"`` (CUDA when present, else CPU) or a
    device; the model is moved there for the call and back afterwards. ``autocast``: False,
    True (bfloat16 on CPU, float16 on CUDA) or a dtype: the forward pass runs under
    ``torch.autocast`` (excitation's top-down pass stays float32). Maps then differ from
    float32 by rounding: ``bench/heatmaps_real.py`` measures it.
    """
    return attribute_observed(model, images, method=method, targets=targets, layer=layer, batch_size=batch_size,
                              steps=steps, baseline=baseline, show_progress=show_progress, device=device,
                              autocast=autocast)


BlockObserver = Callable[[slice, slice, torch.Tensor, torch.Tensor], None]


def attribute_observed(model: nn.Module, images, *,
                       observe: tuple[nn.Module | Sequence[nn.Module], BlockObserver] | None = None,
                       method: str = "cmwp", targets=None, layer=None, batch_size: int | None = None,
                       steps: int = 32, baseline=None, show_progress: bool | None = None, device=None,
                       autocast=False) -> np.ndarray:
    """:func:`attribute`, and ``observe = (module, callback)`` sees each pass's work as it happens.

    ``callback(image_slice, target_slice, output, maps)`` is called once per block with the
    block's slices of the images and targets, ``module``'s output in that block's own forward
    pass ``(n_images, C, h, w)`` (detached, on the compute device; a list of outputs, in order,
    when ``module`` is a list of modules) and the block's maps
    ``(n_images, n_targets, H, W)``: what the images look like at ``module`` where each map
    is, without a second forward pass (descriptors are built this way). Methods whose forward
    passes see other images than the given ones (integrated gradients' path points) refuse
    ``observe``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module; got {type(model).__name__}")
    chosen = METHODS.get(method)
    if chosen is None:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    if observe is not None and chosen.path_points({"steps": steps}) != 1:
        raise ValueError(f"method={method!r} runs its forward passes on other images than the given ones; "
                         "it cannot be observed (compute the layer's output with a plain forward pass)")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps (integrated-gradients path points) must be a positive integer; got {steps!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be a positive number of rows per pass (or None); got {batch_size!r}")
    images = check_images(images)
    several = observe is not None and isinstance(observe[0], (list, tuple))
    watched = [] if observe is None else list(observe[0]) if several else [observe[0]]
    with _on_device(model, device) as where:
        parameter = next(model.parameters(), None)
        dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else images.dtype
        images = images.to(device=where, dtype=dtype)
        baseline = check_baseline(baseline, images) if method == "ig" else None
        precision = _autocast(where, autocast)
        size = tuple(images.shape[-2:])
        with attribution_state(model):
            n_outputs, calls = model_layout(model, images[:1])
            index = resolve_targets(targets, images.shape[0], n_outputs)
            tap = _map_layer(chosen, method, model, layer, calls)
            options = {"steps": steps, "baseline": None}
            rows_per_pass = max(1, (batch_size or DEFAULT_BATCH_SIZE) // chosen.path_points(options))
            plan = RowPlan(index, n_outputs, rows_per_pass)
            blocks = plan.blocks()
            maps = torch.empty(*plan.shape, *size, dtype=torch.float32)
            bar = progress(blocks, total=len(blocks), desc=f"{method} maps",
                           disable=(len(blocks) < 2) if show_progress is None else not show_progress)
            for block in bar:
                if baseline is not None:
                    options["baseline"] = baseline[block[0]]
                with precision, contextlib.ExitStack() as stack:
                    seen = [stack.enter_context(capture_output(module, call=0)) for module in watched]
                    block_maps = chosen.compute(model, images[block[0]], plan.seeds(block, images), tap, options)
                block_maps = block_maps.detach().float().reshape(maps[block].shape)
                if observe is not None:
                    if not all(seen):
                        raise RuntimeError("an observed module did not run in the model's forward pass; "
                                           "observe modules the model calls")
                    outputs = [output[0].detach().float() for output in seen]
                    observe[1](block[0], block[1], outputs if several else outputs[0], block_maps)
                maps[block] = block_maps.cpu()
    return maps.numpy()


@contextlib.contextmanager
def _on_device(model: nn.Module, device) -> Iterator[torch.device]:
    """The device to compute on; with ``device`` given, the model is moved there and back afterwards."""
    tensor = next(model.parameters(), None)
    tensor = next(model.buffers(), None) if tensor is None else tensor
    home = tensor.device if tensor is not None else torch.device("cpu")
    if device is None:
        yield home
        return
    where = resolve_device(device)
    if where.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asks for CUDA, which this machine lacks; use device='auto' or 'cpu'")
    if where == home:
        yield where
        return
    model.to(where)
    try:
        yield where
    finally:
        model.to(home)


def _autocast(where: torch.device, autocast) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for the forward passes (``autocast``: False, True or a dtype)."""
    if autocast is False or autocast is None:
        return contextlib.nullcontext()
    if autocast is True:
        dtype = torch.float16 if where.type == "cuda" else torch.bfloat16
    elif isinstance(autocast, torch.dtype) and autocast in (torch.float16, torch.bfloat16):
        dtype = autocast
    else:
        raise ValueError(f"autocast must be False, True or torch.float16 / torch.bfloat16; got {autocast!r}")
    return torch.autocast(device_type=where.type, dtype=dtype)
