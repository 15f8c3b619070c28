"""Registry of training objectives, keyed like `models.ARCHITECTURES`."""

from .stargan import Batch, StarGANObjective

OBJECTIVES = {"stargan": StarGANObjective}

__all__ = ["OBJECTIVES", "Batch", "StarGANObjective"]
