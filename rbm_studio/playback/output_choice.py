"""Which output the transport offers and opens, without Qt: the built-in synth first, then real
MIDI ports, then virtual ports; the remembered choice when it is still there, else the built-in
synth with the ports that may sound as fallbacks. "Through" ports are never chosen for anyone."""

from __future__ import annotations

from dataclasses import dataclass

from .audio import BUILTIN_API, BUILTIN_LABEL
from .ports import VIRTUAL_PORT_NAME, ApiStatus, is_through_port

NO_SOUND_TEXT = (
    "No sound: the built-in synth found no audio device, so export the song as MIDI or WAV, "
    "or connect a synth and choose it under Output."
)
NO_OUTPUT_CHOSEN_TEXT = (
    f"No output chosen: pick “{BUILTIN_LABEL}” or a synth under Output — or export MIDI/WAV."
)


@dataclass(frozen=True, slots=True)
class OutputChoice:
    """One entry of the output chooser: a port of an API, or that API's virtual port."""

    api: str
    port: str | None
    virtual: bool
    label: str

    @property
    def key(self) -> str:
        """What the settings remember, stable across runs (port names, not indices)."""
        if self.api == BUILTIN_API:
            return BUILTIN_API
        return f"{self.api}|virtual" if self.virtual else f"{self.api}|port|{self.port}"

    @property
    def may_sound(self) -> bool:
        """Whether choosing it for the person could make sound (not a "Through" port, not a
        virtual port nobody has connected yet)."""
        return not self.virtual and not (self.port and is_through_port(self.port))


BUILTIN_CHOICE = OutputChoice(BUILTIN_API, None, False, BUILTIN_LABEL)


def output_choices(statuses: list[ApiStatus]) -> list[OutputChoice]:
    """The built-in synth, then real ports (in API order), then the virtual port of each API that
    can make one."""
    choices = [BUILTIN_CHOICE]
    choices += [
        OutputChoice(s.api, port, False, f"{port} ({s.display_name})")
        for s in statuses
        for port in s.ports
    ]
    choices += [
        OutputChoice(s.api, None, True, f'Virtual port "{VIRTUAL_PORT_NAME}" ({s.display_name})')
        for s in statuses
        if s.supports_virtual
    ]
    return choices


def choose_output(
    choices: list[OutputChoice], saved: str
) -> tuple[OutputChoice, list[OutputChoice]]:
    """The output to open and the ones to try in turn if it fails: the remembered one (`saved`,
    a settings key) alone when it is still listed; else the built-in synth, then the ports that
    may sound."""
    for choice in choices:
        if choice.key == saved:
            return choice, []
    return BUILTIN_CHOICE, [c for c in choices if c is not BUILTIN_CHOICE and c.may_sound]


def through_ports(statuses: list[ApiStatus]) -> list[str]:
    return [p for s in statuses for p in s.ports if is_through_port(p)]


def output_reasons(player_problem: str, statuses: list[ApiStatus], list_error: str) -> str:
    """The details behind "How?": why the output did not open, why each API found nothing, which
    ports pass MIDI on without sounding, and why listing failed (one per line)."""
    lines = [player_problem] if player_problem else []
    lines += [f"{s.display_name}: {s.reason}" for s in statuses if s.reason]
    lines += [f"{p} passes MIDI on without sounding." for p in through_ports(statuses)]
    if list_error:
        lines.append(list_error)
    return "\n".join(lines)
