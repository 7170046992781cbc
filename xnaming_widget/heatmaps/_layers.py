"""Finding the layer a map is read at, and running a model in a safe attribution state."""
from __future__ import annotations

import contextlib
import difflib
import warnings
import weakref
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

INPUT = "input"  # layer name meaning "the image itself" (pixel-level maps)

__all__ = ["INPUT", "LayerCall", "resolve_layer", "probe_model", "model_layout", "default_map_layer",
           "attribution_state", "check_images", "check_baseline", "tap_call"]


@dataclass(frozen=True)
class LayerCall:
    """One call of a module in a forward pass: its name, the module, which call, output shape."""

    name: str
    module: nn.Module
    call: int
    shape: tuple


def check_images(images) -> torch.Tensor:
    """The images as a float tensor ``(B, C, H, W)``; a clear error for anything else.

    Integer images (e.g. ``uint8`` pixels in 0–255) are refused rather than converted: the
    model expects the float scaling and normalisation it was trained with, which only the
    caller knows. Float images whose pixels are all whole numbers above 1 (0–255 values cast
    to float) get a warning. NaN or infinite pixels are refused, naming the images.
    """
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
        raise TypeError(f"images are {str(images.dtype).replace('torch.', '')} (e.g. 0-255 pixels); the model takes "
                        "float images scaled and normalised as in its training. Convert them first, e.g. "
                        "images.float() / 255 followed by the model's normalisation (the data set's transform)")
    finite = torch.isfinite(images).flatten(1).all(1)
    if not bool(finite.all()):
        bad = torch.nonzero(~finite).flatten().tolist()
        shown = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ValueError(f"images {shown} (index in the batch) contain NaN or infinite pixels, which give no "
                         "meaningful map; fix or drop those images")
    high = float(images.amax())
    if high > 1.5 and bool((images == images.round()).all()):
        warnings.warn(f"the images hold whole numbers up to {high:g}: 0-255 pixels cast to float? The maps "
                      "explain the model on exactly these inputs; scale and normalise them as in training",
                      UserWarning, stacklevel=3)
    return images


def check_baseline(baseline, images: torch.Tensor) -> torch.Tensor | None:
    """An integrated-gradients baseline broadcast to ``images`` (B, C, H, W); a clear error otherwise."""
    if baseline is None:
        return None
    try:
        tensor = torch.as_tensor(baseline)
    except Exception as error:  # noqa: BLE001 - rephrase for the user
        raise TypeError(f"baseline must be a tensor or array (an image); got {type(baseline).__name__}") from error
    shape = tuple(images.shape)
    try:
        tensor = tensor.to(device=images.device, dtype=images.dtype).expand(shape)
    except RuntimeError as error:
        raise ValueError(f"baseline has shape {tuple(tensor.shape)}, which does not fit the images {shape}: give "
                         f"one baseline image (C, H, W) = {shape[1:]} for all images, one per image "
                         f"(B, C, H, W) = {shape}, or a single value") from error
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError("baseline contains NaN or infinite values; use a finite image (e.g. zeros, a blurred "
                         "copy of the image, or the data set's mean)")
    return tensor


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


_PROBES: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


def model_layout(model: nn.Module, image: torch.Tensor) -> tuple[int, list[LayerCall]]:
    """The number of outputs and the module calls of ``model`` on images like ``image`` (1, C, H, W).

    Probed once per model, module structure and image shape/dtype/device (a forward pass on
    one image), then remembered: repeated calls on the same model do not pay the probe again.
    """
    key = (tuple(image.shape[1:]), image.dtype, image.device, tuple(id(m) for m in model.modules()))
    cache = _PROBES.setdefault(model, {})
    if key not in cache:
        output, calls = probe_model(model, image)
        cache.clear()  # only the latest layout per model
        cache[key] = (int(output.shape[1]), calls)
    return cache[key]


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
