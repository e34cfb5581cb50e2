"""The windowed RBM kind: `KIND` is what the registry lists."""

from .kind import KIND

__all__ = ["KIND"]
