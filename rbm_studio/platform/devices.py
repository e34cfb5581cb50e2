"""Which accelerators a run uses: `auto` (JAX's default backend: a GPU or TPU when JAX finds one,
else the CPU), `cpu` or `gpu`, for training, generation and evaluation alike.

Nothing here pins a platform before JAX starts: JAX probes every installed backend, and the choice
only picks among the devices it found, so a CUDA install (`pip install 'rbm-studio[cuda]'`) is
used without further set-up. The trainers build their data-parallel mesh over `mesh_devices`;
multi-machine runs start JAX's own coordinator with `initialize_distributed`.

JAX is imported inside the functions, so the CLI and the window can import this module cheaply.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

DEVICE_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", "Automatic"),
    ("cpu", "CPU"),
    ("gpu", "GPU"),
)
DEVICE_NAMES = tuple(name for name, _label in DEVICE_CHOICES)
CUDA_HINT = "install JAX's CUDA build with pip install 'rbm-studio[cuda]'"


class DeviceError(ValueError):
    """The chosen device kind is not available (one line a person can act on)."""


def found() -> str:
    """What JAX found, e.g. "cpu ×4" or "gpu ×8 (NVIDIA H100), cpu ×1" (imports JAX)."""
    import jax

    parts = []
    for backend in ("gpu", "tpu", "cpu"):
        try:
            devs = jax.devices(backend)
        except RuntimeError:
            continue
        kinds = Counter(d.device_kind for d in devs)
        detail = ", ".join(k for k in kinds if k.lower() != "cpu")
        parts.append(f"{backend} ×{len(devs)}" + (f" ({detail})" if detail else ""))
    return ", ".join(parts) or "no devices"


def mesh_devices(choice: str = "auto") -> list:
    """Every device of the chosen kind across all processes of this run (in a single-process run,
    the local ones), in JAX's order: what a trainer shards its mini-batch over."""
    import jax

    if choice not in DEVICE_NAMES:
        raise DeviceError(f"unknown device {choice!r} (choose {', '.join(DEVICE_NAMES)})")
    if choice == "auto":
        return list(jax.devices())
    try:
        devs = list(jax.devices(choice))
    except RuntimeError:
        devs = []
    if not devs:
        hint = f"; {CUDA_HINT}" if choice == "gpu" else ""
        raise DeviceError(f"no {choice} device: JAX found {found()}{hint}")
    return devs


def use(choice: str = "auto"):
    """Make the chosen kind's first local device JAX's default for the code that follows (the
    samplers and evaluators run on one device); returns that device."""
    import jax

    local = [d for d in mesh_devices(choice) if d.process_index == jax.process_index()]
    jax.config.update("jax_default_device", local[0])
    return local[0]


# ---------------------------------------------------------------------------------------------
# Several machines


@dataclass(frozen=True)
class ClusterSpec:
    """Where the coordinator listens and which of how many processes this is."""

    coordinator: str
    num_processes: int
    process_id: int


# The variables a scheduler or a person sets (JAX's own, and the usual SLURM / torchrun ones).
_ENV = {
    "coordinator": ("JAX_COORDINATOR_ADDRESS", "MASTER_ADDR"),
    "num_processes": ("JAX_NUM_PROCESSES", "WORLD_SIZE", "SLURM_NTASKS"),
    "process_id": ("JAX_PROCESS_ID", "RANK", "SLURM_PROCID"),
}


def cluster_spec(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    environ: dict[str, str] | None = None,
) -> ClusterSpec:
    """The flags, else the environment; `DeviceError` naming what is missing."""
    env = os.environ if environ is None else environ

    def from_env(field: str) -> str | None:
        return next((env[name] for name in _ENV[field] if env.get(name)), None)

    coordinator = coordinator or from_env("coordinator")
    if coordinator and ":" not in coordinator and env.get("MASTER_PORT"):
        coordinator = f"{coordinator}:{env['MASTER_PORT']}"
    raw_n = num_processes if num_processes is not None else from_env("num_processes")
    raw_id = process_id if process_id is not None else from_env("process_id")
    missing = [
        f"--{flag} (or ${_ENV[field][0]})"
        for field, flag, value in (
            ("coordinator", "coordinator", coordinator),
            ("num_processes", "num-processes", raw_n),
            ("process_id", "process-id", raw_id),
        )
        if value in (None, "")
    ]
    if missing:
        raise DeviceError("--distributed needs " + ", ".join(missing))
    try:
        n, pid = int(raw_n), int(raw_id)  # type: ignore[arg-type]
    except ValueError:
        raise DeviceError(
            f"process count and id must be integers, not {raw_n!r} and {raw_id!r}"
        ) from None
    if n < 1 or not 0 <= pid < n:
        raise DeviceError(f"process id {pid} is not in 0..{n - 1}")
    if ":" not in str(coordinator):
        raise DeviceError(f"coordinator {coordinator!r} must be HOST:PORT")
    return ClusterSpec(str(coordinator), n, pid)


def initialize_distributed(spec: ClusterSpec, timeout_s: int = 300) -> None:
    """Join the run's processes through JAX's coordinator (gloo collectives on CPU, NCCL on
    GPU); every process must call it before any other JAX work."""
    import jax

    jax.distributed.initialize(
        coordinator_address=spec.coordinator,
        num_processes=spec.num_processes,
        process_id=spec.process_id,
        initialization_timeout=timeout_s,
    )
