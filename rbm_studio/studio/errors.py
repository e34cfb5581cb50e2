"""One line a musician can read for any failure, shared by the window's workers and the studio
layer's runs (which have no Qt and so cannot reach `ui.workers`)."""

from __future__ import annotations


def describe_error(exc: BaseException) -> str:
    """The exception's own first line, or its type's name when it says nothing."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
