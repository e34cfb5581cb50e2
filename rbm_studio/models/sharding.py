"""Data parallelism for both trainers, with JAX's own sharding: a 1-D mesh over every device of
the chosen kind (across all processes of a `jax.distributed` run), parameters replicated, each
mini-batch split along its batch axis. XLA inserts the all-reduce of the gradient sums, so one
code path runs on one CPU, eight GPUs or a TPU slice.

Each process supplies only its own slice of every mini-batch (`batch_array`), so a multi-machine
run reads each window once; a process count that does not divide the batch is refused by the
caller (the batch is padded to a multiple of the devices, see `padded_batch`). Random draws are
the same whatever the sharding (JAX's partitionable threefry), so the same seed gives the same
weights on 1 or N devices up to float summation order.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ..platform.devices import mesh_devices

AXIS = "batch"


@dataclass(frozen=True)
class BatchMesh:
    """The devices a trainer runs on and how its arrays are laid out over them."""

    mesh: Mesh

    @property
    def size(self) -> int:
        return int(self.mesh.devices.size)

    @property
    def processes(self) -> int:
        return jax.process_count()

    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, P())

    def sharded(self, axis: int, ndim: int) -> NamedSharding:
        """Split dimension `axis` of an `ndim`-D array over the devices."""
        spec = [None] * ndim
        spec[axis] = AXIS
        return NamedSharding(self.mesh, P(*spec))

    def padded_batch(self, batch: int) -> int:
        """`batch` rounded up to a multiple of the device count (padding rows weigh 0)."""
        return -(-batch // self.size) * self.size

    def local_slice(self, batch: int) -> slice:
        """This process's rows of a global batch of `batch` rows (devices are process-major)."""
        per = batch // self.processes
        start = jax.process_index() * per
        return slice(start, start + per)

    def replicate(self, tree):
        """Host values every process holds identically, as replicated global arrays."""
        sharding = self.replicated()
        return jax.tree_util.tree_map(
            lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree
        )

    def batch_array(self, local: np.ndarray, axis: int, batch: int):
        """A global array split along `axis` (global length `batch`) from this process's rows."""
        local = np.asarray(local)
        shape = list(local.shape)
        shape[axis] = batch
        sharding = self.sharded(axis, local.ndim)
        return jax.make_array_from_process_local_data(sharding, local, tuple(shape))


def batch_mesh(device: str = "auto") -> BatchMesh:
    """The mesh over every device of kind `device` (`platform.devices.DeviceError` if none)."""
    devices = mesh_devices(device)
    return BatchMesh(Mesh(np.array(devices), (AXIS,)))


def warm_backend(device: str = "auto") -> None:
    """Start JAX's backend for `device` and compile the seeding every trainer begins with, so
    the first Train does not wait for them (a kind's `warm_up`; any thread)."""
    batch_mesh(device)
    jax.block_until_ready(jax.random.split(jax.random.PRNGKey(0)))


def to_host(tree):
    """numpy copies of (possibly multi-process) arrays: a replicated array from this process's
    copy, a split one gathered from all processes."""

    def one(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return np.asarray(x)
        if x.is_fully_replicated:
            return np.asarray(x.addressable_data(0))
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree_util.tree_map(one, tree)
