"""The lifecycle stages: one module per stage (steps, deliver, start, monitor, purge,
select_nodes, nodes, run), each a function `run(experiment, nodes, options, output)` that
returns its report, on top of one engine; `dispatch` picks the stage for a task."""
