"""The command-line help of the options every task shares (read by `inv --help` alone, so it
lives apart from the code that acts on the options)."""

COMMON_HELP = {
    "exp": "experiment: a name in experiments/ or a path to .py/.yaml (default: octopus.exp)",
    "inventory": "inventory file (default: octopus.inventory config, then nodes.yaml)",
    "nodes": "nodes to use, comma-separated names, globs and !exclusions: 'gpu*,!gpu3' "
    "(default: all)",
    "tags": "comma-separated tags: use only nodes carrying one of them",
    "parallel": "how many nodes to work on at once",
    "dry_run": "print what would run on each node and change nothing",
    "verbose": "show every node's lines and every stage's table, also when all went well",
    "plain": "tables in plain ASCII, as off a terminal (for mail and grep)",
}
