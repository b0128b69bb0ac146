"""Stand-in per-location step for the R quickstart twin: doubles the location's input value."""
import argparse
import logging
import os

parser = argparse.ArgumentParser()
parser.add_argument("--location_id", type=int, required=True)
parser.add_argument("--root_data_dir", required=True)
parser.add_argument("--log_level", default="INFO")
args = parser.parse_args()
logging.basicConfig(level=args.log_level)
with open(os.path.join(args.root_data_dir, f"input_{args.location_id}.txt")) as src:
    value = int(src.read())
with open(os.path.join(args.root_data_dir, f"result_{args.location_id}.txt"), "w") as out:
    out.write(f"{value * 2}\n")
logging.info("location %d done", args.location_id)
