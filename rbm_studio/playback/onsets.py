"""Note onsets found in rendered audio, to check the built-in synth's timing against the score.

Spectral flux (the summed rise of log-magnitude spectra between 5.8 ms windows, 0.7 ms apart): a
struck note adds energy across the spectrum even while other notes sustain, where a plain
amplitude envelope barely moves. Each score onset is matched to the strongest flux peak within
`search` seconds of it; the returned errors are (audio − score) in seconds.
"""

from __future__ import annotations

import numpy as np

WINDOW = 256
HOP = 32
SEARCH_S = 0.03


def spectral_flux(
    audio: np.ndarray, rate: int, *, window: int = WINDOW, hop: int = HOP
) -> tuple[np.ndarray, np.ndarray]:
    """(times, flux): one value per hop, each at the centre of its window. Zeros are put before
    the audio so an onset at 0 s has a quiet window to rise from."""
    mono = audio.astype(np.float64)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    mono = np.concatenate([np.zeros(window), mono])
    count = (len(mono) - window) // hop
    if count < 2:
        return np.zeros(0), np.zeros(0)
    index = np.arange(window)[None, :] + hop * np.arange(count)[:, None]
    spectra = np.abs(np.fft.rfft(mono[index] * np.hanning(window), axis=1))
    log_mag = np.log1p(1000.0 * spectra)
    flux = np.maximum(np.diff(log_mag, axis=0), 0.0).sum(axis=1)
    times = (np.arange(1, count) * hop + window / 2 - window) / rate
    return times, flux


def onset_errors(
    audio: np.ndarray, rate: int, onsets: list[float] | np.ndarray, *, search: float = SEARCH_S
) -> np.ndarray:
    """For each score onset (seconds), the detected onset minus the score's, in seconds."""
    times, flux = spectral_flux(audio, rate)
    errors = np.empty(len(onsets))
    for i, t in enumerate(onsets):
        near = (times > t - search) & (times < t + search)
        if not near.any():
            errors[i] = np.inf
            continue
        k = int(np.argmax(np.where(near, flux, -1.0)))
        errors[i] = times[k] - t
    return errors


def score_onsets(schedule) -> list[float]:
    """The distinct note-on times of a `Schedule`, in seconds at the song's tempo."""
    return sorted({round(e.seconds, 6) for e in schedule.events if e.is_note_on})
