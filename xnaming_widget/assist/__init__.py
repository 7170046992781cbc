"""Assisted naming: descriptors of activations, suggestions for a concept, a proposed first
grouping of the pool, and naming carried over to new images. Everything the tool places is
marked in the naming (``via``), so a study can tell people's decisions from the tool's.

Names are loaded on first use, so that the widget's import does not pull in torch.
"""
from importlib import import_module

_HOMES = {"describe": "descriptors", "descriptor_layer": "descriptors", "pool_under_maps": "descriptors",
          "propose_groups": "propose", "DescriptorSpace": "suggest", "rank_candidates": "suggest",
          "transfer_naming": "transfer", "add_descriptors": "on_demand",
          "attribute_and_describe": "descriptors", "descriptors_of": "descriptors"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
