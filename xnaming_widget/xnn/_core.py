"""The batched network every neural XNN method trains: G independent XNNs stored as stacked weights.

One module holds G groups (G = 1 for a single XNN, G = C for a bank of one-vs-all XNNs).
Each linear layer keeps weights ``(G, in, out)`` and runs all groups in one ``bmm``, so a
bank costs one forward/backward per mini-batch instead of C. Group g's initial weights
come from its own generator seeded with ``seed + g``: group g of a bank starts exactly
where a single XNN with seed ``seed + g`` starts, which makes the two testably equal.

Inputs are standardised inside (``z_mean``, ``z_std`` buffers, fitted on the training Z)
so that the optimiser sees unit-scale features whatever layer Z comes from; the
reconstruction target is the standardised Z. ``embedding(g)`` folds the standardisation
into the first ``nn.Linear`` so that heatmap code sees a plain MLP on raw Z.

x-features come out of a softplus by default (definitions §2 allows ReLU or softplus): a ReLU
x-feature that is zero on every training image gets no gradient and stays dead for good,
and the pull-away term scores such a column as orthogonal to everything, so training
was free to kill x-features (measured on the demo CNN: one x-feature per class carried
~80 % of the positive evidence). A softplus feature is never flat, so it can always
recover. ``final_activation="relu"`` keeps the old behaviour (and files saved before the
option existed load as ReLU networks).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float32) * 2.0 - 1.0) * bound


class GroupedLinear(nn.Module):
    """G independent linear layers ``x_g @ W_g + b_g`` run as one batched matmul.

    Accepts ``(B, in)`` (one input shared by all groups) or ``(G, B, in)``; returns
    ``(G, B, out)``. Weights are He-uniform (±sqrt(6/in)), which keeps activations at unit
    scale through ReLU layers; ``nn.Linear``'s default (±1/sqrt(in)) shrinks them about 3x per
    layer, and the tiny x-features it leaves behind die (stay 0) in the first Adam steps of
    wide encoders such as the paper's (800, 100). Biases are uniform ±1/sqrt(in).
    """

    def __init__(self, groups: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(groups, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(groups, out_features))

    def reset_group(self, g: int, gen: torch.Generator) -> None:
        """Draw group g's parameters from ``gen``."""
        in_features, out_features = self.weight.shape[1:]
        with torch.no_grad():
            self.weight[g] = _uniform(gen, (out_features, in_features), math.sqrt(6.0 / in_features)).T
            self.bias[g] = _uniform(gen, (out_features,), 1.0 / math.sqrt(in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # shared input: a stride-0 (G, B, in) view, so neither x nor the weights
            x = x.expand(self.weight.shape[0], *x.shape)  # are copied (a permuted (in, G*out) weight was)
        return torch.baddbmm(self.bias[:, None, :], x, self.weight)


FINAL_ACTIVATIONS = ("relu", "softplus", "none")


def _final_module(name: str) -> nn.Module | None:
    return {"relu": nn.ReLU(), "softplus": nn.Softplus(), "none": None}[name]


def check_final_activation(name: str) -> str:
    if name not in FINAL_ACTIVATIONS:
        raise ValueError(f"final_activation must be one of {FINAL_ACTIVATIONS}, got {name!r}")
    return name


class GroupedMLP(nn.Module):
    """Grouped linear layers with ReLU between them and ``final_activation`` after the last
    ("relu", "softplus" or "none")."""

    def __init__(self, groups: int, sizes: tuple[int, ...], final_activation: str) -> None:
        super().__init__()
        self.layers = nn.ModuleList(GroupedLinear(groups, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.final_activation = check_final_activation(final_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last or self.final_activation == "relu":
                x = torch.relu(x)
            elif self.final_activation == "softplus":
                x = nn.functional.softplus(x)
        return x


class BatchedXNN(nn.Module):
    """G explanation networks: encoder Z -> E (n, non-negative), head E -> ȳ (K), optional decoder.

    Shapes: input ``(B, D)`` raw Z; ``encode`` -> ``(G, B, n)``; ``head`` -> ``(G, B, K)``;
    ``decode`` -> ``(G, B, D)`` (standardised Z). ``v`` is ``(G, K, n)``, ``b`` is ``(G, K)``.
    """

    def __init__(self, groups: int, in_dim: int, hidden: tuple[int, ...], n_features: int,
                 n_outputs: int, decoder_hidden: tuple[int, ...] | None, *,
                 final_activation: str = "softplus", seed: int = 0) -> None:
        super().__init__()
        self.groups, self.in_dim, self.n_features, self.n_outputs = groups, in_dim, n_features, n_outputs
        self.hidden = tuple(int(h) for h in hidden)
        self.decoder_hidden = None if decoder_hidden is None else tuple(int(h) for h in decoder_hidden)
        self.final_activation = check_final_activation(final_activation)
        self.encoder = GroupedMLP(groups, (in_dim, *self.hidden, n_features), final_activation)
        self.decoder = (None if self.decoder_hidden is None
                        else GroupedMLP(groups, (n_features, *self.decoder_hidden, in_dim), "none"))
        self.v = nn.Parameter(torch.zeros(groups, n_outputs, n_features))
        self.b = nn.Parameter(torch.zeros(groups, n_outputs))
        self.register_buffer("z_mean", torch.zeros(in_dim))
        self.register_buffer("z_std", torch.ones(in_dim))
        for g in range(groups):
            self.reset_group(g, seed + g)

    def reset_group(self, g: int, seed: int) -> None:
        """Initialise group g from a generator seeded with ``seed`` (encoder, head, decoder order).

        The head's weights alternate in sign (+, -, +, ...): x-features are non-negative, so a
        head whose weights share one sign can only move ȳ one way from b, and weights seldom
        cross zero in training (seen as F_cls stuck at 0.84 for a demo class). They all start
        at the same magnitude 1/sqrt(n): v hardly moves in training while the encoder scales
        E, so an x-feature that drew a larger random |v_k| got more of every update and ended
        up carrying most of the evidence. Equal magnitudes start every x-feature even.
        """
        gen = torch.Generator().manual_seed(int(seed))
        for layer in self.encoder.layers:
            layer.reset_group(g, gen)
        bound = 1.0 / math.sqrt(self.n_features)
        with torch.no_grad():
            signs = torch.where(torch.arange(self.n_features) % 2 == 0, 1.0, -1.0)
            self.v[g] = bound * signs.expand(self.n_outputs, self.n_features)
            self.b[g] = 0.0
        if self.decoder is not None:
            for layer in self.decoder.layers:
                layer.reset_group(g, gen)

    def standardise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.z_mean) / self.z_std

    def encode_standardised(self, zs: torch.Tensor) -> torch.Tensor:
        return self.encoder(zs)

    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """Raw ``(B, D)`` -> x-features ``(G, B, n)``."""
        return self.encoder(self.standardise(z))

    def head(self, e: torch.Tensor) -> torch.Tensor:
        """x-features ``(G, B, n)`` -> scores ``(G, B, K)``."""
        return torch.einsum("gbn,gkn->gbk", e, self.v) + self.b[:, None, :]

    def decode(self, e: torch.Tensor) -> torch.Tensor:
        if self.decoder is None:
            raise RuntimeError("this XNN has no decoder (its method does not reconstruct Z)")
        return self.decoder(e)

    def config(self) -> dict:
        """Shape arguments that rebuild an identical (untrained) module."""
        return {"groups": self.groups, "in_dim": self.in_dim, "hidden": list(self.hidden),
                "n_features": self.n_features, "n_outputs": self.n_outputs,
                "decoder_hidden": None if self.decoder_hidden is None else list(self.decoder_hidden),
                "final_activation": self.final_activation}

    @classmethod
    def from_config(cls, config: dict) -> "BatchedXNN":
        """Rebuild from ``config()``; files from before ``final_activation`` carry ``final_relu``."""
        if "final_activation" in config:
            final = config["final_activation"]
        else:
            final = "relu" if config.get("final_relu", True) else "none"
        return cls(config["groups"], config["in_dim"], tuple(config["hidden"]), config["n_features"],
                   config["n_outputs"],
                   None if config["decoder_hidden"] is None else tuple(config["decoder_hidden"]),
                   final_activation=final)

    def select(self, groups: list[int]) -> "BatchedXNN":
        """A standalone copy holding only the listed groups (in that order)."""
        config = dict(self.config(), groups=len(groups))
        out = BatchedXNN.from_config(config).to(self.z_mean.device)
        index = torch.as_tensor(groups, dtype=torch.long, device=self.z_mean.device)
        state = {}
        for name, tensor in self.state_dict().items():
            state[name] = tensor if name in ("z_mean", "z_std") else tensor.index_select(0, index).clone()
        out.load_state_dict(state)
        return out

    def embedding(self, g: int = 0) -> nn.Sequential:
        """Group g's encoder as ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU`` on raw Z (the last
        activation is ``nn.Softplus``, ``nn.ReLU`` or none, as ``final_activation`` says).

        The standardisation ``(z - mean) / std`` is folded into the first Linear:
        ``W' = W / std`` and ``b' = b - W @ (mean / std)``.
        """
        modules: list[nn.Module] = []
        layers = self.encoder.layers
        for i, layer in enumerate(layers):
            weight = layer.weight[g].detach().T.clone()  # (out, in)
            bias = layer.bias[g].detach().clone()
            if i == 0:
                bias = bias - weight @ (self.z_mean / self.z_std)
                weight = weight / self.z_std[None, :]
            linear = nn.Linear(weight.shape[1], weight.shape[0])
            with torch.no_grad():
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
            modules.append(linear)
            if i < len(layers) - 1:
                modules.append(nn.ReLU())
            elif (final := _final_module(self.final_activation)) is not None:
                modules.append(final)
        return nn.Sequential(*modules)
