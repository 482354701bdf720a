"""regvarbench: benchmark sequence models at predicting enhancer variant effects."""

__version__ = "0.1.0"
