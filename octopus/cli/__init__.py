"""The command line: Invoke tasks (`inv ...`) and the `octopus` program, thin over the stages.

Invoke loads a copy of PyYAML of its own (`invoke.vendor.yaml`, only ever for `safe_load`),
and takes the installed PyYAML where a packager removed that copy. octopus loads the installed
one anyway, so when Invoke is not loaded yet (the `octopus` program), it is handed that one:
every command then loads YAML's code once instead of twice (about 20 ms of each start).
"""

import sys

if "invoke" not in sys.modules:
    import yaml

    sys.modules.setdefault("invoke.vendor.yaml", yaml)
