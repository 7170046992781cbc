"""Assisted naming: descriptors of activations, suggestions for a concept, a proposed first
grouping of the pool, and naming carried over to new images. Everything the tool places is
marked in the naming (``via``), so a study can tell people's decisions from the tool's."""
from .descriptors import describe, descriptor_layer, pool_under_maps
from .propose import propose_groups
from .suggest import DescriptorSpace, rank_candidates
from .transfer import transfer_naming

__all__ = ["describe", "descriptor_layer", "pool_under_maps", "propose_groups", "DescriptorSpace",
           "rank_candidates", "transfer_naming"]
