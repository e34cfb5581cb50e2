"""One module per CLI subcommand; `rbm_studio.cli` wires them into argparse."""
