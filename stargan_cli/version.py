"""The toolkit's version, written into every model file and prepared dataset."""

__version__ = "0.1.0"
