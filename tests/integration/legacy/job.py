"""The experiment's own program: needs the venv's package, writes one CSV per seed."""

import argparse
import os
import sys

import octotiny

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int)
parser.add_argument("--device")
args = parser.parse_args()
os.makedirs("results", exist_ok=True)
with open(f"results/r_{args.seed}.csv", "w") as fh:
    fh.write("seed,device,venv,value\n")
    fh.write(f"{args.seed},{args.device},{os.path.basename(sys.prefix)},{octotiny.VALUE}\n")
print(f"seed {args.seed} done")
