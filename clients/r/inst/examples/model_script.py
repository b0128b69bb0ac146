"""A stand-in model for the R examples: writes one output file per location, relative to the
directory it runs in (the control script's, recorded at bind)."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--loc_id", required=True)
args = parser.parse_args()
os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", f"loc_{args.loc_id}.txt"), "w") as out:
    out.write(f"model for location {args.loc_id}\n")
print(f"modelled location {args.loc_id} in {os.getcwd()}")
