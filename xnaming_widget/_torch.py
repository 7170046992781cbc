"""Small torch helpers with one home: choosing a device, capturing a module's output in a forward pass."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

__all__ = ["resolve_device", "capture_output", "StopForward"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) -> CUDA when available, else CPU; anything else goes to ``torch.device``."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class StopForward(Exception):
    """Raised by a capture hook to end a forward pass early (caught by :func:`capture_output`)."""


@contextlib.contextmanager
def capture_output(module: nn.Module, call: int | None = None, *, leaf: bool = False,
                   stop: bool = False) -> Iterator[list[torch.Tensor]]:
    """Collect ``module``'s outputs during the forward passes run in the ``with`` body.

    ``call``: keep only that call of the module (0 = first), None: every call. A tuple output
    counts by its first element. ``leaf=True`` detaches the kept output into a fresh leaf that
    requires grad (the model continues with a clone, so later in-place modules cannot touch
    it): gradients can then be taken with respect to it. ``stop=True`` ends the forward pass
    once the output is kept (later layers never run).
    """
    captured: list[torch.Tensor] = []
    calls = [0]

    def hook(_module, _args, output):
        number, calls[0] = calls[0], calls[0] + 1
        if call is not None and number != call:
            return None
        value = output[0] if isinstance(output, (tuple, list)) else output
        replaced = None
        if leaf and isinstance(value, torch.Tensor):
            value = value.detach().requires_grad_()
            replaced = value.clone()
        captured.append(value)
        if stop:
            raise StopForward
        return replaced

    handle = module.register_forward_hook(hook)
    try:
        yield captured
    except StopForward:
        pass
    finally:
        handle.remove()
