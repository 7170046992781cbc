"""Finding the layer a map is read at, and running a model in a safe attribution state."""
from __future__ import annotations

import contextlib
import difflib
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

INPUT = "input"  # layer name meaning "the image itself" (pixel-level maps)

__all__ = ["INPUT", "LayerCall", "resolve_layer", "probe_model", "default_map_layer", "attribution_state",
           "check_images", "tap_call"]


@dataclass(frozen=True)
class LayerCall:
    """One call of a module in a forward pass: its name, the module, which call, output shape."""

    name: str
    module: nn.Module
    call: int
    shape: tuple


def check_images(images) -> torch.Tensor:
    """The images as a float tensor ``(B, C, H, W)``; a clear error for anything else."""
    if not isinstance(images, torch.Tensor):
        try:
            images = torch.as_tensor(images)
        except Exception as error:  # noqa: BLE001 - rephrase for the user
            raise TypeError(f"images must be a numpy array or torch tensor of shape (B, C, H, W); "
                            f"got {type(images).__name__}") from error
    if images.ndim != 4:
        hint = " (a single image? add a batch axis: images[None])" if images.ndim == 3 else ""
        raise ValueError(f"images must have shape (B, C, H, W); got shape {tuple(images.shape)}{hint}")
    if images.shape[0] == 0:
        raise ValueError("images is empty: give at least one image")
    if not images.is_floating_point():
        images = images.float()
    return images


def resolve_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    """``(name, module)`` for a dotted module name or a module object of ``model``.

    An :class:`~xnaming_widget.heatmaps.XFeatureModel` also accepts names inside its DNN
    (``"features"`` for ``"dnn.features"``).
    """
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, module in modules.items():
            if module is layer:
                return name, module
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the {type(model).__name__} "
                         "given; pass one of its modules or a dotted name from model.named_modules()")
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a module or a dotted module name (str); got {type(layer).__name__}")
    if layer in modules and layer != "":
        return layer, modules[layer]
    prefixed = f"dnn.{layer}"
    if hasattr(model, "dnn") and prefixed in modules:
        return prefixed, modules[prefixed]
    names = [name for name in modules if name]
    close = difflib.get_close_matches(layer, names, n=5, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"{type(model).__name__} has no layer named {layer!r}.{hint} "
                     f"Names come from model.named_modules(), e.g. {names[:6]}")


def _name_of(modules: dict[int, str], module: nn.Module) -> str:
    return modules.get(id(module), type(module).__name__)


def probe_model(model: nn.Module, image: torch.Tensor) -> tuple[torch.Tensor, list[LayerCall]]:
    """Run ``model`` on one image; return its output and every module call in completion order."""
    names = {id(module): name for name, module in model.named_modules()}
    calls: list[LayerCall] = []
    counts: dict[int, int] = {}

    def record(module, args, output):
        if isinstance(output, torch.Tensor):
            count = counts.get(id(module), 0)
            counts[id(module)] = count + 1
            calls.append(LayerCall(_name_of(names, module), module, count, tuple(output.shape)))

    handles = [module.register_forward_hook(record) for module in model.modules() if module is not model]
    try:
        with torch.no_grad():
            output = model(image)
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"the model failed on images of shape {tuple(image.shape[1:])} (C, H, W): {error}. "
                         "Check the number of channels and the image size the model expects.") from error
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(output, torch.Tensor) or output.ndim != 2:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(f"the model must map images to a (B, K) tensor of outputs (logits or x-features); "
                         f"got {shape}")
    return output, calls


def default_map_layer(calls: list[LayerCall]) -> LayerCall:
    """The last conv block's output: the last module call with a spatial ``(B, C, h, w)`` output.

    Adaptive pools are skipped (they only resample a map to a fixed size), as are 1×1 outputs.
    """
    for call in reversed(calls):
        spatial = len(call.shape) == 4 and call.shape[2] * call.shape[3] > 1
        resampler = isinstance(call.module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))
        if spatial and not resampler:
            return call
    raise ValueError("the model has no layer with a spatial (B, C, h, w) output to read maps at; "
                     "pass layer= explicitly, or use method='ig' for pixel-level maps")


def tap_call(calls: list[LayerCall], name: str, module: nn.Module) -> LayerCall:
    """The call of ``module`` to read maps at (its last call in the forward pass)."""
    mine = [call for call in calls if call.module is module]
    if not mine:
        raise ValueError(f"layer {name!r} does not run when the model is applied to these images, so no map "
                         "can be read there; choose a layer on the path from the images to the outputs")
    return mine[-1]


@contextlib.contextmanager
def attribution_state(model: nn.Module) -> Iterator[None]:
    """Eval mode and frozen parameters while attributing; the model's own state is restored after.

    Eval mode keeps BatchNorm and Dropout from mixing the tiled rows; frozen parameters keep
    autograd from building graphs (and memory) for weights nobody asks gradients of.
    """
    training = {module: module.training for module in model.modules()}
    requires = {param: param.requires_grad for param in model.parameters()}
    model.eval()
    for param in requires:
        param.requires_grad_(False)
    try:
        with torch.enable_grad():
            yield
    finally:
        for module, flag in training.items():
            module.training = flag
        for param, flag in requires.items():
            param.requires_grad_(flag)
