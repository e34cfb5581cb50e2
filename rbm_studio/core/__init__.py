"""Pure logic with no Qt: MIDI, state matrices, datasets, the RBM, sampling, evaluation, model files."""
