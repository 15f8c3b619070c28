"""stargan: multi-domain image-to-image translation toolkit.

From Python: `stargan_cli.load(path)` gives a model to call with images (api.py); it is imported on first
use, so `stargan --help` does not wait for torch."""

from .version import __version__

__all__ = ["__version__", "load", "Model"]


def __getattr__(name: str):
    if name in ("load", "Model"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'stargan_cli' has no attribute {name!r}")
