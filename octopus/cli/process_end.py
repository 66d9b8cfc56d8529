"""The command-line process ends without a last walk over everything it made.

At exit Python runs its cyclic garbage collector over every object still alive before it
frees them; after a monitor of a large experiment that is hundreds of thousands of objects
(the record's plans, the statuses), some 70 ms of a repeat look that takes a second. Objects
alive when the process ends are moved out of the collector's reach then (gc.freeze), and are
freed as before. Registered when the command line is imported (`inv`, `octopus`), so it
touches only the end of such a process, never a program that uses octopus' Python API.
"""

from __future__ import annotations

import atexit
import gc

atexit.register(gc.freeze)
