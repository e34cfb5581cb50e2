"""Trains both kinds on a folder with however many devices this process sees (set
XLA_FLAGS=--xla_force_host_platform_device_count=N before starting it) and saves every weight to
an .npz: the 1-vs-N-device and 1-vs-2-process tests compare these files.

`python -m tests.support.scale_worker FOLDER OUT.npz [CORPUS.rbmc]`; with a corpus the RBM is
also trained from it (keys `corpus-rbm-*`).
"""

from __future__ import annotations

import sys

import numpy as np

# the same settings as the CLI runs of the test (`RBM_FLAGS`)
RBM = {"hidden": 16, "epochs": 3, "batch_size": 32, "transpose": 1}
RBM_FLAGS = ["--hidden", "16", "--epochs", "3", "--batch", "32", "--transpose", "1"]
RNN_RBM = {
    "hidden": 16,
    "recurrent_hidden": 8,
    "epochs": 2,
    "batch_size": 4,
    "sequence_length": 32,
    "pretrain_epochs": 1,
    "cd_k": 1,
    "holdout_fraction": 0.0,  # no held-out AIS: its compile would double the run
}


def main(folder: str, out: str, corpus: str | None = None) -> None:
    import jax

    from rbm_studio.data.corpus import Corpus
    from rbm_studio.data.dataset import import_folder
    from rbm_studio.models import registry

    report = import_folder(folder)
    saved: dict[str, np.ndarray] = {}
    runs = [("rbm", RBM, report.matrices), ("rnn-rbm", RNN_RBM, report.matrices)]
    if corpus:
        runs.append(("corpus-rbm", RBM, Corpus(corpus)))
    for name, settings, songs in runs:
        kind = name.removeprefix("corpus-")
        config = registry.default_config(kind, **settings)
        trainer = registry.make_trainer(config, songs, report.encoding)
        for _ in trainer:  # what the Trainer protocol offers
            pass
        model = trainer.result()
        assert model.dataset["devices"] == jax.device_count(), model.dataset
        saved.update({f"{name}-{k}": v for k, v in model.params.items()})
    saved["devices"] = np.array(jax.device_count())
    np.savez(out, **saved)


if __name__ == "__main__":
    main(*sys.argv[1:])
