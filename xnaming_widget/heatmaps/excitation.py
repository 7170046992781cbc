"""Excitation backprop (MWP) and contrastive excitation backprop (c-MWP), Zhang et al. 2016.

A top-down pass hands each unit's *marginal winning probability* to its inputs:
``P(a_i) = Σ_j a_i w_ij⁺ / (Σ_i' a_i' w_i'j⁺) · P(a_j)`` (bias ignored). The output row is
seeded with a one-hot on the target, so the probabilities of every layer sum to 1 as long as
each unit with probability has some excitatory input. c-MWP subtracts the map of a *dual*
unit (the target's top-layer weights negated) and keeps the positive part, which removes
what the target shares with everything else.

How the engine works (no patching of ``torch.nn.functional``): during the forward pass,
hooks wrap every module's output in a custom autograd node whose backward applies the
excitation rule of that module type, so one ``torch.autograd.grad`` over the tiled rows
computes all maps. The map layer's output is replaced by a fresh leaf, so the backward stops
there. After the forward, the autograd graph between that layer and the outputs is checked:
an operation with no excitation rule (a residual addition outside the known blocks, a
product, a mean) raises :class:`UnsupportedModelError` instead of giving a wrong map.

Choices where the original paper (non-negative activations, plain conv/fc/pool) is silent:

- **Signed inputs** (pixels, BatchNorm outputs with no ReLU after them, as in EfficientNet's
  linear bottlenecks): a unit's probability goes to the input contributions ``a_i·w_ij`` with
  the unit's own sign (the positive ones for a positive unit). With ``a ≥ 0`` and ``w⁺`` this
  is exactly the original rule; the top unit always uses its positive contributions.
- **BatchNorm** right after a conv/linear layer is folded into it (weights scaled by
  ``γ/σ``; the unit's sign is the BatchNorm output's). A BatchNorm elsewhere passes
  probability through unchanged (each output has exactly one input).
- **ReLU, ReLU6, SiLU, GELU, … , Dropout, Flatten**: identity for probabilities; they only
  gate activations, and the next layer's rule already gives nothing to a silent unit.
- **Max pooling**: winner takes all (the probability goes to the arg-max input).
- **Average pooling**: a linear layer with weights 1/k (the rule above).
- **Residual additions** (torchvision BasicBlock/Bottleneck, EfficientNet MBConv): the
  probability of a sum unit is split between branch and shortcut in proportion to their
  contributions with the sum's sign (half each when both are zero).
- **Biases** are ignored, as in the paper. A unit below the top whose value comes from its
  bias alone (no input contribution of its sign; frequent in depthwise convolutions with
  folded BatchNorm) spreads its probability by the magnitude of its input contributions
  rather than losing it; only a unit whose inputs are all zero loses its probability.
  The top unit follows the paper exactly: with no excitatory input there is no map.
- **Map layer**: by default the last conv block's output (the last module call with a
  spatial output); ``layer="input"`` reads pixel-level maps through the signed-input rule.

Supported architectures: Sequential-like stacks of the modules above (DemoCNN, VGG),
torchvision ResNets, EfficientNet-Lite, and :class:`XFeatureModel` chains of them.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from ._batching import BatchingUnsupported, check_rows, per_target_rows
from ._layers import LayerCall
from ._residual import residual_layout

__all__ = ["UnsupportedModelError", "excitation_mass", "mwp_maps", "cmwp_maps"]


class UnsupportedModelError(ValueError):
    """The model contains an operation excitation backprop has no rule for."""


_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_AVERAGING = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
              nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_ROUTING = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
            nn.AdaptiveMaxPool3d, nn.ZeroPad2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_PASS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.SiLU, nn.GELU, nn.ELU, nn.SELU, nn.Softplus,
         nn.Hardswish, nn.Hardtanh, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
         nn.Dropout3d, nn.AlphaDropout, nn.Identity, nn.Flatten, nn.Unflatten)
# Activation and identity modules of optional packages, matched by name (no import needed).
_PASS_NAMES = {"efficientnet_lite_pytorch.utils.MemoryEfficientSwish", "efficientnet_lite_pytorch.utils.Swish",
               "efficientnet_lite_pytorch.utils.Identity"}
# Autograd operations allowed between the map layer and the outputs besides our own nodes:
# reshaping and selection (they move probability without changing it), ReLU gates (a silent
# unit never receives probability anyway) and max pooling (winner takes all, as in the rule).
_NEUTRAL_OPS = ("View", "ReshapeAlias", "UnsafeView", "Reshape", "Clone", "Permute", "Transpose", "TBackward",
                "Squeeze", "Unsqueeze", "Cat", "Select", "Slice", "Split", "ToCopy", "Alias", "Unbind", "Stack",
                "Relu", "Threshold", "MaxPool", "AdaptiveMaxPool", "AccumulateGrad")


def _kind(module: nn.Module) -> str:
    cls = type(module)
    if isinstance(module, _WEIGHTED):
        return "weighted"
    if isinstance(module, _AVERAGING):
        return "averaging"
    if isinstance(module, _ROUTING):
        return "routing"
    if isinstance(module, _NORMS):
        return "norm"
    if isinstance(module, _PASS) or f"{cls.__module__}.{cls.__qualname__}" in _PASS_NAMES:
        return "pass"
    if residual_layout(module) is not None:
        return "block"
    if len(module._modules) > 0:
        return "container"
    return "unknown"


# ----------------------------------------------------------------------------- the rule
#
# Mass tensors carry a target axis: (B, T, ...) for B images and T targets each, while the
# saved activations x and every excitation total z are per image, (B, ...). The totals are
# computed once per image and shared by its T targets: given them, the propagation is linear
# in the mass, so all targets go through one transposed operation (vmap over the target axis).

def _per_target(tensor: torch.Tensor) -> torch.Tensor:
    """A per-image tensor (B, ...) broadcast against per-target mass (B, T, ...)."""
    return tensor.unsqueeze(1)


def _inverse(total: torch.Tensor, units: torch.Tensor | None) -> torch.Tensor:
    """Per image: 1 / total on the chosen units with a non-zero total, 0 elsewhere."""
    nonzero = total != 0 if units is None else (total != 0) & units
    return torch.where(nonzero, total.reciprocal(), 0.0)  # the infinities of 1/0 are never selected


def _add(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    return second if first is None else first if second is None else first + second


# Conv2d subclasses that zero-pad the input in ``forward`` before the convolution (TensorFlow's
# "same" padding), matched by name: their pad is module.static_padding (ZeroPad2d or Identity).
_STATIC_SAME_PADDING = {"efficientnet_lite_pytorch.utils.Conv2dStaticSamePadding",
                        "efficientnet_pytorch.utils.Conv2dStaticSamePadding"}


def _conv_padding(module: nn.Module) -> tuple[int, int, int, int] | None:
    """The (left, right, top, bottom) zero padding a Conv2d applies before convolving, None if unknown."""
    if not isinstance(module, nn.Conv2d) or module.padding_mode != "zeros" or isinstance(module.padding, str):
        return None
    if type(module) is nn.Conv2d:
        return (0, 0, 0, 0)
    cls = type(module)
    if f"{cls.__module__}.{cls.__qualname__}" in _STATIC_SAME_PADDING:
        pad = getattr(module, "static_padding", None)
        if isinstance(pad, nn.ZeroPad2d):
            return tuple(int(p) for p in pad.padding)
        if type(pad).__name__ == "Identity":
            return (0, 0, 0, 0)
    return None


class _Linear:
    """A linear map ``apply(x, w)`` of one layer with its transpose for B·T rows of mass."""

    def __init__(self, module: nn.Module, groups: int | None = None):
        self.module = module
        self.pad = _conv_padding(module)  # plain conv2d (after this zero padding) when not None
        self.groups = getattr(module, "groups", 1) if groups is None else groups

    def active(self, mass: torch.Tensor, weight: torch.Tensor | None, x: torch.Tensor):
        """The sub-layer of the output channels that hold mass, when they are at most 3/4 of them.

        Mass flows only through units a ReLU lets through, so often a fifth of a layer's
        channels carry it: totals and transposes then run on those only. Returns None, or
        ``(index, sub-layer, weight, x, mass, depthwise)``.
        """
        if weight is None or not (type(self.module) is nn.Linear or self.pad is not None):
            return None
        depthwise = self.groups == weight.shape[0] == x.shape[1] and weight.shape[1] == 1 and self.groups > 1
        if self.groups != 1 and not depthwise:
            return None
        held = mass.flatten(3).any(-1) if mass.ndim > 3 else mass
        active = held.flatten(0, 1).any(0)
        count = int(active.sum())
        if count == 0 or count > 0.75 * active.numel():
            return None
        index = active.nonzero().squeeze(1)
        sub = _Linear(self.module, groups=count if depthwise else self.groups)
        return (index, sub, weight.index_select(0, index), x.index_select(1, index) if depthwise else x,
                mass.index_select(2, index), depthwise)

    def live_inputs(self, x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor | None:
        """The input channels that are non-zero somewhere, when at most 3/4 of them (dense layers).

        An input that is zero everywhere (a channel a ReLU silenced in all images) contributes
        nothing to any total and receives no mass, so the rule can skip it.
        """
        if weight is None or self.groups != 1 or not (type(self.module) is nn.Linear or self.pad is not None):
            return None
        alive = (x.flatten(2).ne(0).any(-1) if x.ndim > 2 else x.ne(0)).any(0)
        count = int(alive.sum())
        return alive.nonzero().squeeze(1) if 0 < count <= 0.75 * alive.numel() else None

    def apply(self, x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
        module = self.module
        if weight is None:
            return module(x)
        if type(module) is nn.Linear:
            return nn.functional.linear(x, weight)
        if self.pad is not None:
            x = nn.functional.pad(x, self.pad) if any(self.pad) else x
            return nn.functional.conv2d(x, weight, None, module.stride, module.padding, module.dilation,
                                        self.groups)
        params = {"weight": weight}
        if getattr(module, "bias", None) is not None:
            params["bias"] = torch.zeros_like(module.bias)
        return functional_call(module, params, (x,))

    def transpose(self, ratio: torch.Tensor, weight: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        """Σ_j ratio_j ∂apply(x, w)_j/∂x_i for every target: ``ratio`` (B, T, *out) -> (B, T, *x.shape[1:])."""
        module, rows = self.module, ratio.flatten(0, 1)
        shape = (rows.shape[0], *x.shape[1:])
        if weight is not None and type(module) is nn.Linear:
            grad = rows @ weight
        elif weight is not None and self.pad is not None:
            grad = self._active_conv_transpose(rows, weight, shape)
        else:  # any other linear map: its vector-Jacobian product, vmapped over the targets
            _, vjp = torch.func.vjp(lambda v: self.apply(v, weight), x)
            return torch.vmap(lambda m: vjp(m)[0], in_dims=1, out_dims=1)(ratio)
        return grad.reshape(*ratio.shape[:2], *x.shape[1:])

    def transposes(self, ratio: torch.Tensor, weights: list, x: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`transpose` of one ratio for several weight parts; dense layers stack them in one call."""
        module = self.module
        stackable = (len(weights) > 1 and all(w is not None for w in weights)
                     and (type(module) is nn.Linear or (self.pad is not None and self.groups == 1)))
        if not stackable:
            return [self.transpose(ratio, w, x) for w in weights]
        shape_only = x.new_empty(1).expand(x.shape[0], x.shape[1] * len(weights), *x.shape[2:])
        stacked = self.transpose(ratio, torch.cat(weights, dim=1), shape_only)
        return list(stacked.chunk(len(weights), dim=2))

    def _active_conv_transpose(self, rows: torch.Tensor, weight: torch.Tensor, shape: tuple) -> torch.Tensor:
        """The transposed conv over the output channels that hold mass only (often a fifth of them:
        mass flows through units a ReLU lets through); dense and depthwise convs."""
        groups = self.groups
        depthwise = groups == weight.shape[0] == shape[1] and weight.shape[1] == 1
        if groups == 1 or depthwise:
            active = rows.flatten(2).any(-1).any(0)
            count = int(active.sum())
            if count == 0:
                return rows.new_zeros(shape)
            if count <= 0.75 * active.numel():
                index = active.nonzero().squeeze(1)
                rows, weight = rows.index_select(1, index), weight.index_select(0, index)
                if depthwise:
                    part = self._conv_transpose(rows, weight, (shape[0], count, *shape[2:]), groups=count)
                    return rows.new_zeros(shape).index_copy_(1, index, part)
        return self._conv_transpose(rows, weight, shape, groups)

    def _conv_transpose(self, rows: torch.Tensor, weight: torch.Tensor, shape: tuple, groups: int) -> torch.Tensor:
        module = self.module
        left, right, top, bottom = self.pad
        padding = tuple(module.padding)
        if left == right and top == bottom:  # symmetric: part of the convolution's own padding
            padding, left, right, top, bottom = (padding[0] + top, padding[1] + left), 0, 0, 0, 0
        kernel = tuple(weight.shape[-2:])
        depthwise = groups == weight.shape[0] == shape[1] and weight.shape[1] == 1
        if (depthwise and tuple(module.stride) == (1, 1) and tuple(module.dilation) == (1, 1) and not left + top
                and all(p <= k - 1 for p, k in zip(padding, kernel))):
            # the transpose of a stride-1 depthwise conv is a depthwise conv with the kernel flipped;
            # channels-last runs it several times faster than the generic transposed conv on CPUs
            flipped = weight.flip(-1, -2).contiguous()
            opposite = tuple(k - 1 - p for p, k in zip(padding, kernel))
            grad = nn.functional.conv2d(rows.contiguous(memory_format=torch.channels_last), flipped, None, 1,
                                        opposite, 1, groups)
            return grad.contiguous()
        padded = (*shape[:2], shape[2] + top + bottom, shape[3] + left + right)
        grad = torch.nn.grad.conv2d_input(padded, weight, rows, module.stride, padding, module.dilation, groups)
        return grad[..., top:top + shape[2], left:left + shape[3]] if left + right + top + bottom else grad


def _share(linear: _Linear, weight: torch.Tensor | None, x: torch.Tensor, mass: torch.Tensor,
           positive: torch.Tensor | None, top: bool = False) -> torch.Tensor:
    """The excitation rule for one linear map (``weight=None``: a positive map such as a pool).

    ``x`` (B, ...) the layer's input, ``mass`` (B, T, ...) on its output units. ``positive``:
    which output units are non-negative (None: treat all as positive). Positive units take
    their positive contributions (x⁺w⁺ and x⁻w⁻), negative units their negative ones (x⁺w⁻
    and x⁻w⁺); a unit's share of input i is its contribution over the unit's total z of
    that sign. The totals (and their reciprocals) are computed once per image and shared by
    its T targets; the mass then moves with one transposed map per weight part. Below the
    top, a unit fed by no contribution of its sign (its value comes from the bias) spreads
    its mass by the magnitude of its contributions; the top unit keeps the paper's rule (no
    excitatory input: no map).
    """
    x_pos = x.clamp(min=0)
    x_neg = x.clamp(max=0) if bool((x < 0).any()) else None
    if weight is None:  # a positive map: positive inputs give positive contributions
        signed = {+1: [(x_pos, None)], -1: [] if x_neg is None else [(x_neg, None)]}
    else:
        w_pos, w_neg = weight.clamp(min=0), weight.clamp(max=0)
        signed = {+1: [(x_pos, w_pos)] + ([] if x_neg is None else [(x_neg, w_neg)]),
                  -1: [(x_pos, w_neg)] + ([] if x_neg is None else [(x_neg, w_pos)])}
    held = None  # (B, ...) units that hold mass for some target, computed when needed

    def holding(units: torch.Tensor) -> bool:
        nonlocal held
        if held is None:
            held = mass.any(1)
        return bool((held & units).any())

    grads: dict[int, torch.Tensor] = {}  # id of input part -> Σ transposed ratios
    parts: dict[int, torch.Tensor] = {}

    def move(pairs: list, inverse: torch.Tensor) -> None:
        ratio = mass * _per_target(inverse)
        for (part, _), grad in zip(pairs, linear.transposes(ratio, [w for _, w in pairs], x)):
            grads[id(part)] = _add(grads.get(id(part)), grad)
            parts[id(part)] = part

    def total(pairs: list) -> torch.Tensor:
        return sum(linear.apply(part, w) for part, w in pairs)

    z_up = total(signed[+1])
    move(signed[+1], _inverse(z_up, positive))
    stranded = z_up == 0 if positive is None else (z_up == 0) & positive
    negative = None if positive is None else ~positive
    if negative is not None and bool(negative.any()) and holding(negative):
        if signed[-1]:
            z_down = total(signed[-1])
            move(signed[-1], _inverse(z_down, negative))
            stranded = stranded | ((z_down == 0) & negative)
        else:
            stranded = stranded | negative
    if not top and bool(stranded.any()) and holding(stranded):
        magnitude = [(x.abs(), None if weight is None else weight.abs())]
        move(magnitude, _inverse(total(magnitude), stranded))
    result = None
    for key, grad in grads.items():
        result = _add(result, _per_target(parts[key]) * grad)
    return result


class _PassStep:
    """Probability goes to the single input of each unit (activations, dropout, reshapes)."""

    def backward(self, x: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
        return mass.reshape(*mass.shape[:2], *x.shape[1:])


class _RoutingStep:
    """Winner takes all: the module's own gradient routes each unit's mass (max pooling, padding)."""

    def __init__(self, module: nn.Module):
        self.module = module

    def backward(self, x: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
        _, vjp = torch.func.vjp(self.module, x.detach().to(mass.dtype))
        return torch.vmap(lambda m: vjp(m)[0], in_dims=1, out_dims=1)(mass)


class _ShareStep:
    """The excitation rule of a conv, linear or average-pool layer (BatchNorm folded in)."""

    def __init__(self, module: nn.Module, output: torch.Tensor, weighted: bool):
        self.module = module
        self.linear = _Linear(module)
        self.weighted = weighted
        self.scale: torch.Tensor | None = None  # per output channel, from a folded BatchNorm
        self.positive = output.detach() >= 0
        self.top = False
        self.contrastive = False

    def fold(self, norm: nn.Module, norm_output: torch.Tensor) -> bool:
        """Fold a BatchNorm that directly follows this layer; False if it cannot be folded."""
        if not self.weighted or self.scale is not None or norm.num_features != self.module.weight.shape[0]:
            return False
        if norm.running_var is None:
            raise UnsupportedModelError(f"{type(norm).__name__} without running statistics normalises with "
                                        "batch statistics, which mixes the images of a batch; use "
                                        "track_running_stats=True")
        scale = torch.rsqrt(norm.running_var + norm.eps)
        self.scale = scale * norm.weight if norm.weight is not None else scale
        self.positive = norm_output.detach() >= 0
        return True

    def _weight(self) -> torch.Tensor | None:
        if not self.weighted:
            return None
        weight = self.module.weight
        if self.scale is not None:
            weight = weight * self.scale.reshape(-1, *([1] * (weight.dim() - 1)))
        return weight.detach()

    def backward(self, x: torch.Tensor, mass: torch.Tensor) -> torch.Tensor:
        weight = self._weight()
        x = x.detach().to(mass.dtype)
        if weight is not None:
            weight = weight.to(mass.dtype)
        positive = None if self.top else self.positive
        sub = self.linear.active(mass, weight, x)
        if sub is None:
            linear, sub_weight, sub_x, sub_mass = self.linear, weight, x, mass
        else:
            index, linear, sub_weight, sub_x, sub_mass, depthwise = sub
            positive = None if positive is None else positive.index_select(1, index)
        live = linear.live_inputs(sub_x, sub_weight)
        if live is not None:  # input channels that are zero everywhere receive nothing
            sub_x, sub_weight = sub_x.index_select(1, live), sub_weight.index_select(1, live)
        result = _share(linear, sub_weight, sub_x, sub_mass, positive, top=self.top)
        if self.contrastive:
            result = result - _share(linear, -sub_weight, sub_x, sub_mass, None, top=True)
        if live is not None:
            result = result.new_zeros(*mass.shape[:2], *x.shape[1:]).index_copy_(2, live, result)
        if sub is not None and depthwise:  # back to all channels (each depthwise channel feeds itself)
            result = result.new_zeros(*mass.shape[:2], *x.shape[1:]).index_copy_(2, index, result)
        return result


class _ExcitationNode(torch.autograd.Function):
    """Autograd node of one module call: forward returns its output; ``step`` is its excitation rule.

    Two outputs: one handed to the model (which may modify it in place) and a private
    handle the engine connects later steps to. The engine reads ``step`` and the saved input
    while it walks the graph (:func:`_propagate`); ``backward`` serves a plain autograd call
    (one target per row).
    """

    @staticmethod
    def forward(ctx, x, value, step):
        ctx.step = step
        ctx.save_for_backward(x)
        return value.clone(), value.clone()

    @staticmethod
    def backward(ctx, grad_out, grad_handle):
        (x,) = ctx.saved_tensors
        return ctx.step.backward(x, (grad_out + grad_handle).unsqueeze(1)).squeeze(1), None, None

    @staticmethod
    def propagate(node, masses: list) -> list:
        (x,) = node.saved_tensors
        return [node.step.backward(x, masses[0] if masses[1] is None else _add(masses[0], masses[1])), None, None]


def _residual_shares(branch: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
    sign = torch.where(branch + shortcut >= 0, 1.0, -1.0).to(branch.dtype)
    branch_part, shortcut_part = (branch * sign).clamp(min=0), (shortcut * sign).clamp(min=0)
    total = branch_part + shortcut_part
    return torch.where(total > 0, branch_part / torch.where(total > 0, total, 1.0), 0.5)


class _ResidualNode(torch.autograd.Function):
    """A residual sum: each unit's mass is split between branch and shortcut by contribution."""

    @staticmethod
    def forward(ctx, branch, shortcut, value):
        ctx.save_for_backward(branch, shortcut)
        return value.clone(), value.clone()

    @staticmethod
    def backward(ctx, grad_out, grad_handle):
        share = _residual_shares(*ctx.saved_tensors)
        mass = grad_out + grad_handle
        return mass * share, mass * (1 - share), None

    @staticmethod
    def propagate(node, masses: list) -> list:
        mass = _add(masses[0], masses[1])
        share = _per_target(_residual_shares(*node.saved_tensors).to(mass.dtype))
        return [mass * share, mass * (1 - share), None]


_OUR_NODES = {f"{_ExcitationNode.__name__}Backward", f"{_ResidualNode.__name__}Backward"}


# ----------------------------------------------------------------------------- the engine

class _Engine:
    """Hooks that build the excitation graph during one forward pass of ``model``."""

    def __init__(self, model: nn.Module, tap: LayerCall | None):
        self.model = model
        self.tap = tap
        self.names = {id(module): name for name, module in model.named_modules()}
        self.handles: dict[int, tuple[torch.Tensor, int, torch.Tensor]] = {}
        self.producers: dict[int, _ShareStep] = {}
        self.last_output: dict[int, torch.Tensor] = {}
        self.pending: dict[int, list[torch.Tensor]] = {}
        self.calls: dict[int, int] = {}
        self.weighted_steps: list[_ShareStep] = []
        self.tap_leaf: torch.Tensor | None = None
        self._hooks: list = []

    # -- bookkeeping
    def resolve(self, tensor):
        """The engine's clean handle for a tensor the model got from a step (unless modified since)."""
        entry = self.handles.get(id(tensor))
        if entry is not None and entry[0] is tensor and entry[1] == tensor._version:
            return entry[2]
        return tensor

    def _wrap(self, x: torch.Tensor, output: torch.Tensor, step) -> torch.Tensor:
        out, handle = _ExcitationNode.apply(x, output.detach(), step)
        self.handles[id(out)] = (out, out._version, handle)
        return out

    def start(self, images: torch.Tensor) -> torch.Tensor:
        """Make ``images`` the map layer (pixel-level maps); returns the tensor to feed the model."""
        self.tap_leaf = images.detach().requires_grad_()
        return self._wrap(self.tap_leaf, self.tap_leaf, _PassStep())

    # -- hooks
    def attach(self) -> None:
        self._attach(self.model)

    def detach(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()

    def _attach(self, module: nn.Module) -> None:
        kind = _kind(module)
        if kind in ("container", "block"):
            for child in module.children():
                self._attach(child)
        if kind == "block":
            self._hooks.append(module.register_forward_hook(self._block_hook))
        elif kind != "container":
            self._hooks.append(module.register_forward_pre_hook(self._pre_hook))
            self._hooks.append(module.register_forward_hook(self._unit_hook))
        if self.tap is not None and module is self.tap.module:
            self._hooks.append(module.register_forward_hook(self._tap_hook))
        self._hooks.append(module.register_forward_hook(self._record_hook))

    def _pre_hook(self, module, args):
        # Resolve the input before the module runs: an in-place module changes it.
        first = args[0] if args and isinstance(args[0], torch.Tensor) else None
        self.pending.setdefault(id(module), []).append(None if first is None else self.resolve(first))
        if first is not None and first.requires_grad:
            # The module computes its value without autograd: our node links its input to its
            # output, so a graph of the module's own operations would only cost time and memory.
            return (first.detach(), *args[1:])
        return None

    def _unit_hook(self, module, args, output):
        x = self.pending[id(module)].pop()
        if x is None or not isinstance(output, torch.Tensor):
            raise UnsupportedModelError(f"excitation backprop needs modules that map one tensor to one tensor; "
                                        f"{self._name(module)} does not")
        if not x.requires_grad:
            return None  # below the map layer: nothing flows back there
        kind = _kind(module)
        if kind == "unknown":
            raise UnsupportedModelError(
                f"excitation backprop has no rule for {type(module).__name__} (at {self._name(module)!r}). "
                "Supported: Conv/Linear, BatchNorm, max/avg pooling, ReLU-like activations, Dropout, Flatten, "
                "and ResNet/EfficientNet residual blocks. Use method='gradcam' or 'ig' for this model.")
        if kind in ("weighted", "averaging"):
            step = _ShareStep(module, output, weighted=kind == "weighted")
            if step.weighted:
                self.weighted_steps.append(step)
        elif kind == "routing":
            step = _RoutingStep(module)
        else:
            step = _PassStep()
            producer = self.producers.get(id(x)) if kind == "norm" else None
            if producer is not None:
                producer.fold(module, output)  # the BatchNorm itself then passes probability through
        out = self._wrap(x, output, step)
        if isinstance(step, _ShareStep):
            self.producers[id(self.resolve(out))] = step
        return out

    def _block_hook(self, module, args, output):
        layout = residual_layout(module)
        branch = self.last_output.get(id(layout.branch_end))
        shortcut = self.last_output.get(id(layout.shortcut)) if layout.shortcut is not None else (
            self.resolve(args[0]))
        if branch is None or shortcut is None or not (branch.requires_grad or shortcut.requires_grad):
            return None
        if torch.equal(output, layout.after(branch.detach())):
            return None  # this block used no skip connection: a plain chain, already wired
        expected = layout.after(branch.detach() + shortcut.detach())
        if not torch.allclose(output, expected, rtol=1e-4, atol=1e-5):
            raise UnsupportedModelError(f"block {self._name(module)!r} does not compute "
                                        f"{type(module).__name__}'s known residual form; excitation backprop "
                                        "cannot follow it (use method='gradcam' or 'ig')")
        out, handle = _ResidualNode.apply(branch, shortcut, output.detach())
        self.handles[id(out)] = (out, out._version, handle)
        return out

    def _tap_hook(self, module, args, output):
        call = self.calls.get(id(module), 0)
        self.calls[id(module)] = call + 1
        if call != self.tap.call or not isinstance(output, torch.Tensor):
            return None
        self.tap_leaf = self.resolve(output).detach().requires_grad_()
        return self._wrap(self.tap_leaf, self.tap_leaf, _PassStep())

    def _record_hook(self, module, args, output):
        if isinstance(output, torch.Tensor):
            self.last_output[id(module)] = self.resolve(output)

    def _name(self, module: nn.Module) -> str:
        return self.names.get(id(module), type(module).__name__)

    # -- after the forward pass
    def check_graph(self, output: torch.Tensor) -> None:
        """Every operation between the map layer and ``output`` must have an excitation rule."""
        if output.grad_fn is None:
            raise ValueError("the model's outputs do not depend on the layer the maps are read at; "
                             "choose a layer between the images and the outputs")
        seen, stack = set(), [output.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            name = type(node).__name__
            if name not in _OUR_NODES and not name.startswith(_NEUTRAL_OPS):
                raise UnsupportedModelError(
                    f"excitation backprop cannot pass through the operation {name} in "
                    f"{type(self.model).__name__}.forward (a tensor operation outside modules, e.g. a residual "
                    "addition or a product outside the supported ResNet/EfficientNet blocks). Use "
                    "method='gradcam' or 'ig', or read maps at a layer after it.")
            stack.extend(next_node for next_node, _ in node.next_functions)


def excitation_mass(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, *, tap: LayerCall | None,
                    contrastive: bool = False) -> torch.Tensor:
    """Winning probabilities at the map layer (``tap``; None: the images) for each seeded row.

    ``images`` (B, ...) model inputs; ``seeds`` (B·T, K) top-down signals on the outputs
    (one-hot rows for targets), T rows per image in order. Returns (B·T, ...) shaped like
    the map layer's output. One forward runs over the B images; the top-down pass carries
    all T targets at once (see :func:`_propagate`).
    """
    return per_target_rows(lambda feed, block_seeds: _mass(model, feed, block_seeds, tap, contrastive),
                           images, seeds)


def _mass(model, images, seeds, tap, contrastive):
    engine = _Engine(model, tap)
    engine.attach()
    try:
        feed = engine.start(images) if tap is None else images
        output = model(feed)
    finally:
        engine.detach()
    if engine.tap_leaf is None:
        raise ValueError(f"layer {tap.name!r} did not run; choose a layer on the path to the outputs")
    check_rows(output, seeds)
    if not engine.weighted_steps and contrastive:
        raise ValueError("contrastive excitation backprop needs a conv or linear layer above the map layer "
                         "(its weights are negated for the dual unit); read the maps at an earlier layer")
    if engine.weighted_steps:
        engine.weighted_steps[-1].top = True
        engine.weighted_steps[-1].contrastive = contrastive
    engine.check_graph(output)
    # The top-down pass runs in float32 at least, also after an autocast forward pass.
    dtype = torch.promote_types(output.dtype, torch.float32)
    with torch.no_grad(), torch.autocast(output.device.type, enabled=False):
        mass = _propagate(output, engine.tap_leaf, seeds.to(dtype))
    return torch.zeros(*seeds.shape[:2], *engine.tap_leaf.shape[1:], dtype=engine.tap_leaf.dtype,
                       device=engine.tap_leaf.device) if mass is None else mass


def _propagate(output: torch.Tensor, leaf: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor | None:
    """The top-down pass: carry mass (B, T, ...) from ``output`` down the autograd graph to ``leaf``.

    Our nodes apply their excitation rule to all T targets at once (totals per image); the
    neutral operations in between (reshapes, ReLU gates, max pooling, ...) apply their own
    backward, vmapped over the target axis. Nodes run in the engine's order: a node runs
    once all the mass it will receive has arrived.
    """
    root = output.grad_fn
    waiting: dict = {}
    seen, stack = {root}, [root]
    while stack:
        node = stack.pop()
        for following, _ in node.next_functions:
            if following is not None:
                waiting[following] = waiting.get(following, 0) + 1
                if following not in seen:
                    seen.add(following)
                    stack.append(following)
    arrived: dict = {root: {output.output_nr: seeds}}
    ready, result = [root], None
    while ready:
        node = ready.pop()
        masses = arrived.pop(node, {})
        if hasattr(node, "variable"):  # AccumulateGrad: a leaf
            if node.variable is leaf and masses:
                result = masses[0]
            continue
        outputs = _node_masses(node, masses) if masses else [None] * len(node.next_functions)
        for (following, slot), mass in zip(node.next_functions, outputs):
            if following is None:
                continue
            if mass is not None:
                inbox = arrived.setdefault(following, {})
                inbox[slot] = mass if slot not in inbox else inbox[slot] + mass
            waiting[following] -= 1
            if waiting[following] == 0:
                ready.append(following)
    return result


def _node_masses(node, masses: dict) -> list:
    """The masses a node hands to its inputs, from the masses (B, T, ...) on its outputs."""
    rule = getattr(getattr(node, "_forward_cls", None), "propagate", None)
    if rule is not None:
        return rule(node, [masses.get(0), masses.get(1)])
    count = len(getattr(node, "_input_metadata", ())) or max(masses) + 1
    given = [masses.get(i) for i in range(count)]
    present = [mass for mass in given if mass is not None]
    missing: list[bool] = []

    def backward(*rows):
        feed = iter(rows)
        out = node(*[next(feed) if mass is not None else None for mass in given])
        out = out if isinstance(out, tuple) else (out,)
        missing[:] = [grad is None for grad in out]
        return tuple(grad for grad in out if grad is not None)

    if present[0].shape[1] == 1:  # one target per row: no vmap needed
        found = [grad.unsqueeze(1) for grad in backward(*[mass.squeeze(1) for mass in present])]
    else:
        try:
            found = list(torch.vmap(backward, in_dims=1, out_dims=1)(*present))
        except RuntimeError as error:
            raise BatchingUnsupported(f"{type(node).__name__}: {str(error).splitlines()[0]}") from error
    found.reverse()
    return [None if gap else found.pop() for gap in missing]


def mwp_maps(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, tap: LayerCall | None) -> torch.Tensor:
    """Excitation backprop maps (B·T, h, w) at the map layer: winning probability summed over channels."""
    return excitation_mass(model, images, seeds, tap=tap).sum(1).clamp(min=0)


def cmwp_maps(model: nn.Module, images: torch.Tensor, seeds: torch.Tensor, tap: LayerCall | None) -> torch.Tensor:
    """Contrastive maps (B·T, h, w): target MWP minus dual MWP, summed over channels, clamped at 0."""
    return excitation_mass(model, images, seeds, tap=tap, contrastive=True).sum(1).clamp(min=0)
