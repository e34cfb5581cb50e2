"""Qt widgets and the workers that run core code off the GUI thread."""
