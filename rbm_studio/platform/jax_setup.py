"""Point JAX's persistent compilation cache at the user cache directory, before any JAX computation.

Compiling the training step takes seconds on first use; with the cache on disk the second launch
skips it. The cache must live in `paths.cache_dir() / "jax"` — never inside a frozen bundle, which
may be read-only (macOS app bundles, Program Files) and is replaced on every update.

`configure_jax()` is cheap and does not import JAX when it has not been imported yet: it sets the
`JAX_*` environment variables JAX reads its flag defaults from at import time. If JAX is already
imported it updates `jax.config` instead. Variables the user set themselves are left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .paths import cache_dir

# Every compile is kept, tiny ones too: pressing Train compiles a dozen small helpers (seeding,
# casting, transposing) besides the training step, and together they cost more than reading them
# back, most of all on a busy machine.
MIN_COMPILE_SECONDS = 0.0


def jax_cache_dir() -> Path:
    """Where compiled XLA executables are kept between runs."""
    path = cache_dir() / "jax"
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_jax() -> Path:
    """Set up JAX's compile cache (and CPU-only platform when frozen); returns the cache folder."""
    path = jax_cache_dir()
    settings = {
        "jax_compilation_cache_dir": str(path),
        "jax_persistent_cache_min_compile_time_secs": MIN_COMPILE_SECONDS,
    }
    if getattr(sys, "frozen", False):
        # The bundle ships the CPU backend only; naming it skips probing for GPU/TPU plugins.
        settings["jax_platforms"] = "cpu"
    jax = sys.modules.get("jax")
    for name, value in settings.items():
        env = name.upper()
        if env in os.environ:
            continue
        if jax is None:
            os.environ[env] = str(value)
        else:
            jax.config.update(name, value)
    return path
