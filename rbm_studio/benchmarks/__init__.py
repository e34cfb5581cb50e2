"""Benchmarks run by `rbm-studio bench <what>`: each module exposes `NAME`, `HELP`,
`add_arguments(parser)` and `run(args) -> int`, and reports speed as ratios against a peer
measured in the same run (never absolute timings, which depend on the machine)."""
