"""How reports look: stage tables, the monitor table and JSON, the nodes table.

Pure renderings of the values in octopus.results onto a rich Console; tables on a terminal,
plain text when piped or run from cron.
"""
