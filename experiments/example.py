"""The example experiment: eight seeded estimates of pi, combined into one CSV at pickup.

Runs on the built-in `local` node out of the box:  inv run --exp=example
"""

import csv
import statistics
from pathlib import Path

from octopus import CheckOutput, CombineCSVFiles, Experiment, LocalMethodCall, Rsync

FOLDER = "octopus-example"
RESULTS = Path("deliverables/example/results")


def summarize(path: str) -> None:
    """Print what the runs found, as a researcher would look at it first."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    estimates = [float(r["estimate"]) for r in rows]
    print(f"{len(rows)} runs combined into {path}")
    print(
        f"pi ~ {statistics.mean(estimates):.5f} (stdev {statistics.stdev(estimates):.5f}, "
        f"best seed {min(rows, key=lambda r: float(r['error']))['seed']})"
    )


experiment = Experiment(
    exp_folder_name=FOLDER,
    experiment_commands=[
        f"python3 estimate_pi.py --seed {seed} --samples 200000 --out results/run_{seed}.csv"
        for seed in range(8)
    ],
    experiment_prefix=f"cd ~/{FOLDER}\n",
    shuffle_seed=1,
    setup_steps=[
        Rsync(src=["experiments/example_files/"], dest=[f"{FOLDER}/"], put=True),
    ],
    check_error_steps=[
        CheckOutput(["grep -l Traceback output_screen* || echo no errors found"]),
    ],
    pickup_steps=[
        Rsync(src=f"{FOLDER}/results/", dest=f"{RESULTS}/"),
        CombineCSVFiles(source_files=f"{RESULTS}/run_*.csv", target_file=f"{RESULTS}.csv"),
        LocalMethodCall(summarize, {"path": f"{RESULTS}.csv"}),
    ],
)
