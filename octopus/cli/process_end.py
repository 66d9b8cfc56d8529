"""An `inv` or `octopus` process ends without a last walk over everything it made.

At exit Python runs its cyclic garbage collector over every object still alive before it
frees them; after a monitor of a large experiment that is hundreds of thousands of objects
(the record's plans, the statuses), some 70 ms of a repeat look that takes a second. Objects
alive when the process ends are moved out of the collector's reach then (gc.freeze), and are
freed as before, but for those caught in reference cycles: their finalizers do not run at
exit (which Python never promises). Registered when octopus' task collection is imported
(`inv` with octopus' tasks, a project's own tasks.py that adds to them, the `octopus`
program); a program that uses only octopus' Python API ends as Python ends it.
"""

from __future__ import annotations

import atexit
import gc

atexit.register(gc.freeze)
