"""The arrays of an RNN-RBM and their shapes (numpy only: the model file checks them on load)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def param_shapes(n_visible: int, n_hidden: int, n_recurrent: int, cell: str) -> dict:
    """Expected array shapes of an RNN-RBM."""
    V, H, U = n_visible, n_hidden, n_recurrent
    shapes = {
        "W": (V, H),
        "vbias": (V,),
        "hbias": (H,),
        "Wuv": (U, V),
        "Wuh": (U, H),
        "u0": (U,),
        "Wvu": (V, U),
        "Wuu": (U, U),
        "bu": (U,),
    }
    if cell == "gru":
        shapes |= {"Wvz": (V, U), "Wuz": (U, U), "bz": (U,)}
        shapes |= {"Wvr": (V, U), "Wur": (U, U), "br": (U,)}
    return shapes


def check_params(params: Mapping[str, np.ndarray]) -> list[str]:
    """Problems with an RNN-RBM parameter dict (missing arrays, inconsistent shapes)."""
    for name in ("W", "u0"):
        if name not in params or np.ndim(params[name]) != (2 if name == "W" else 1):
            return [f"RNN-RBM array {name!r} is missing or has the wrong rank"]
    V, H = params["W"].shape
    U = params["u0"].shape[0]
    cell = "gru" if "Wvz" in params else "rnn"
    problems = []
    if ("Wcv" in params) != ("Wch" in params):
        problems.append("RNN-RBM context arrays 'Wcv' and 'Wch' come together")
    elif "Wcv" in params:
        C = np.shape(params["Wcv"])[0] if np.ndim(params["Wcv"]) == 2 else -1
        if np.shape(params["Wcv"]) != (C, V) or np.shape(params["Wch"]) != (C, H):
            problems.append("RNN-RBM context arrays have inconsistent shapes")
    if ("Wpv" in params) != ("Wph" in params):
        problems.append("RNN-RBM previous-step arrays 'Wpv' and 'Wph' come together")
    elif "Wpv" in params and (
        np.shape(params["Wpv"]) != (V, V) or np.shape(params["Wph"]) != (V, H)
    ):
        problems.append("RNN-RBM previous-step arrays have inconsistent shapes")
    for name, shape in param_shapes(V, H, U, cell).items():
        if name not in params:
            problems.append(f"RNN-RBM array {name!r} is missing")
        elif tuple(params[name].shape) != shape:
            problems.append(f"RNN-RBM array {name!r} has shape {params[name].shape}, not {shape}")
    return problems
