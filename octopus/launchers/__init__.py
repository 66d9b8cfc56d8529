"""How workers are started, watched and stopped on a node: one small class per launcher
(screen, process, slurm, run_exp), and `registry` to pick one by name or for a delivery.

Each launcher only builds shell text and parses what it prints (pure, testable); the stages
run that text on the nodes.
"""
