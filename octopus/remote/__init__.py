"""How octopus reaches a node: connections (SSH and local), host keys, transfers, shell quoting.

Everything above this package talks to a node through the `Connector` protocol and never
asks which kind of connection it holds.
"""
