"""Registry of training objectives, keyed like `models.ARCHITECTURES`."""

from .stargan import Batch, CrossTargets, StarGANObjective

OBJECTIVES = {"stargan": StarGANObjective}

__all__ = ["OBJECTIVES", "Batch", "CrossTargets", "StarGANObjective"]
