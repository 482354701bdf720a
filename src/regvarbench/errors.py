"""The error every step raises for unusable input, in a module of its own (no pandas, no torch).

The command line, the device resolver and the training runtime need it before any table is read;
``io`` re-exports it, so ``regvarbench.io.InputError`` is the same class.
"""

from __future__ import annotations


class InputError(ValueError):
    """A user-supplied file or value is unusable; the message says which and why."""
