"""Which accelerators a run uses: `auto` (JAX's default backend: a GPU or TPU when JAX finds one,
else the CPU), `cpu` or `gpu`, for training, generation and evaluation alike.

Nothing here pins a platform before JAX starts: JAX probes every installed backend, and the choice
only picks among the devices it found, so a CUDA install (`pip install 'rbm-studio[cuda]'`) is
used without further set-up. The trainers build their data-parallel mesh over `mesh_devices`;
multi-machine runs start JAX's own coordinator with `initialize_distributed`.

JAX is imported inside the functions, so the CLI and the window can import this module cheaply.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
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


# How long the processes of a run wait for each other by default: long enough for a scheduler
# to start them all, short enough that a missing one is reported while someone still watches.
JOIN_TIMEOUT_S = 120.0
MAX_PROCESSES = 65_536  # a sanity bound: far more processes than any cluster runs one job on

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
    if not 1 <= n <= MAX_PROCESSES:
        raise DeviceError(f"the process count must be in 1..{MAX_PROCESSES}, not {n}")
    if not 0 <= pid < n:
        raise DeviceError(f"process id {pid} is not in 0..{n - 1} (the ids of {n} processes)")
    split_address(str(coordinator))
    return ClusterSpec(str(coordinator), n, pid)


def split_address(address: str) -> tuple[str, int]:
    """(host, port) of "HOST:PORT" ("[::1]:PORT" for IPv6); `DeviceError` unless the host is
    given and the port is in 1..65535."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise DeviceError(f"coordinator {address!r} must be HOST:PORT")
    try:
        port = int(port_text, 10)
    except ValueError:
        port = -1
    if not 1 <= port <= 65_535:
        raise DeviceError(f"coordinator {address!r}: the port must be in 1..65535")
    return host.strip("[]"), port


def rendezvous(spec: ClusterSpec, timeout_s: float) -> None:
    """Meet every process of the run on the coordinator's port before JAX does, within
    `timeout_s`; `DeviceError` with one line when a peer or the coordinator does not come.

    JAX's own join waits its whole timeout and then aborts the process from C++ (a stack
    trace, no Python exception) when a peer is missing, a port is taken or unreachable, or two
    processes claim one id. This check runs first, in Python: process 0 listens on the port
    and waits for the others' ids; each other process connects until the deadline. Only when
    all have met does JAX start its coordinator on the same port."""
    host, port = split_address(spec.coordinator)
    deadline = time.monotonic() + timeout_s
    if spec.process_id == 0:
        _gather(spec, port, deadline, timeout_s)
    else:
        _join(spec, host, port, deadline, timeout_s)


_HELLO = b"rbm-studio-join"


def _gather(spec: ClusterSpec, port: int, deadline: float, timeout_s: float) -> None:
    try:
        if socket.has_dualstack_ipv6():
            server = socket.create_server(
                ("", port), family=socket.AF_INET6, dualstack_ipv6=True, reuse_port=False
            )
        else:
            server = socket.create_server(("", port))
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise DeviceError(f"cannot listen on port {port} for the other processes: {why}") from None
    peers: dict[int, socket.socket] = {}
    try:
        with server:
            while len(peers) < spec.num_processes - 1:
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(set(range(1, spec.num_processes)) - set(peers))
                    shown = ", ".join(map(str, missing[:8])) + (" …" if len(missing) > 8 else "")
                    raise DeviceError(
                        f"{len(missing)} of {spec.num_processes} processes did not reach the "
                        f"coordinator {spec.coordinator} within {timeout_s:g} s (missing ids: "
                        f"{shown})"
                    )
                server.settimeout(min(left, 1.0))
                try:
                    conn, _addr = server.accept()
                except TimeoutError:
                    continue
                peer = _read_hello(conn, min(5.0, max(deadline - time.monotonic(), 0.1)))
                if peer is None or peer[1] != spec.num_processes:
                    conn.close()  # not one of ours, or another run's count: the peer says why
                    continue
                pid = peer[0]
                if pid in peers or not 1 <= pid < spec.num_processes:
                    with contextlib.suppress(OSError):
                        conn.sendall(b"dup\n")
                    conn.close()
                    continue
                peers[pid] = conn
            for conn in peers.values():
                with contextlib.suppress(OSError):
                    conn.sendall(b"ok\n")
            for conn in peers.values():  # the peers close first: no TIME_WAIT on the port
                with contextlib.suppress(OSError):
                    conn.settimeout(2.0)
                    conn.recv(16)
    finally:
        for conn in peers.values():
            conn.close()


def _read_hello(conn: socket.socket, timeout_s: float) -> tuple[int, int] | None:
    """(process id, process count) a peer sent, or None for anything else."""
    conn.settimeout(timeout_s)
    data = b""
    with contextlib.suppress(OSError):
        while b"\n" not in data and len(data) < 64:
            chunk = conn.recv(64)
            if not chunk:
                break
            data += chunk
    parts = data.split(b"\n", 1)[0].split()
    if len(parts) != 3 or parts[0] != _HELLO:
        return None
    try:
        return int(parts[1]), int(parts[2])
    except ValueError:
        return None


def _join(spec: ClusterSpec, host: str, port: int, deadline: float, timeout_s: float) -> None:
    last = "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeviceError(
                f"process {spec.process_id} could not join the coordinator {spec.coordinator} "
                f"within {timeout_s:g} s ({last})"
            )
        try:
            with socket.create_connection((host, port), timeout=min(left, 5.0)) as conn:
                conn.sendall(b"%s %d %d\n" % (_HELLO, spec.process_id, spec.num_processes))
                conn.settimeout(max(deadline - time.monotonic(), 0.1))
                reply = conn.recv(16)
        except OSError as exc:
            last = exc.strerror or str(exc) or type(exc).__name__
            last = last[:1].lower() + last[1:]
            if isinstance(exc, socket.gaierror):
                raise DeviceError(
                    f"coordinator {spec.coordinator}: unknown host ({last})"
                ) from None
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
            continue
        if reply.startswith(b"ok"):
            return
        if reply.startswith(b"dup"):
            raise DeviceError(
                f"process id {spec.process_id} is already taken at the coordinator "
                f"{spec.coordinator}: give each process its own --process-id"
            )
        last = "the coordinator closed the connection (another process count, or not ours)"
        time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))


def initialize_distributed(spec: ClusterSpec, timeout_s: float = JOIN_TIMEOUT_S) -> None:
    """Join the run's processes through JAX's coordinator (gloo collectives on CPU, NCCL on
    GPU); every process must call it before any other JAX work. `rendezvous` first, so a
    missing peer or a bad address fails in `timeout_s` with one line (`DeviceError`)."""
    rendezvous(spec, timeout_s)
    import jax

    jax.distributed.initialize(
        coordinator_address=spec.coordinator,
        num_processes=spec.num_processes,
        process_id=spec.process_id,
        initialization_timeout=max(int(timeout_s), 10),
    )
