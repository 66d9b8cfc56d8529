"""A tiny stand-in for a training run: estimate pi by sampling, write one CSV row.

python3 estimate_pi.py --seed 3 --samples 200000 --out results/run_3.csv
"""

import argparse
import csv
import os
import random
import time

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, required=True)
parser.add_argument("--samples", type=int, default=200_000)
parser.add_argument("--out", required=True)
args = parser.parse_args()

began = time.time()
rng = random.Random(args.seed)
inside = sum(1 for _ in range(args.samples) if rng.random() ** 2 + rng.random() ** 2 <= 1.0)
estimate = 4.0 * inside / args.samples
os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
with open(args.out, "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["seed", "samples", "estimate", "error", "seconds", "host"])
    writer.writerow(
        [
            args.seed,
            args.samples,
            f"{estimate:.6f}",
            f"{abs(estimate - 3.141592653589793):.6f}",
            f"{time.time() - began:.3f}",
            os.uname().nodename,
        ]
    )
print(f"seed {args.seed}: pi ~ {estimate:.5f}")
