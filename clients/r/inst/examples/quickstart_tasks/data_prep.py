"""Stand-in data preparation for the R quickstart twin: one input file per location."""
import argparse
import logging
import os

parser = argparse.ArgumentParser()
parser.add_argument("--location_set_id", type=int, required=True)
parser.add_argument("--root_data_dir", required=True)
parser.add_argument("--log_level", default="INFO")
args = parser.parse_args()
logging.basicConfig(level=args.log_level)
os.makedirs(args.root_data_dir, exist_ok=True)
for location in range(args.location_set_id + 1):
    with open(os.path.join(args.root_data_dir, f"input_{location}.txt"), "w") as out:
        out.write(f"{location * 10}\n")
logging.info("prepared %d locations in %s", args.location_set_id + 1, args.root_data_dir)
