"""One run of an experiment and what it leaves behind: where every file lives (layout), who runs
which command (plan), the worker scripts, the manifest, the per-command events and the ledger.

Everything here is data and pure functions; nothing connects to a node.
"""
