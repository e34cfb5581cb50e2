"""RBM Studio: learn music from MIDI songs with a Restricted Boltzmann Machine."""

__version__ = "0.1.0"
