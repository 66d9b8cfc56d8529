"""Steps: what a stage is made of. `base` (Step, LocalStep), `context` (what a step gets on a
node), `registry` (steps by name, for YAML), then one module per kind of step; `octopus.step`
imports them all."""
