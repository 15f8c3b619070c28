"""stargan: multi-domain image-to-image translation toolkit."""

__version__ = "0.1.0"
