"""MIDI output through python-rtmidi (no Qt): ports, a scheduling thread, all-notes-off."""
