"""Stand-in summary for the R quickstart twin: adds up every location's result."""
import argparse
import glob
import logging
import os

parser = argparse.ArgumentParser()
parser.add_argument("--root_data_dir", required=True)
parser.add_argument("--log_level", default="INFO")
args = parser.parse_args()
logging.basicConfig(level=args.log_level)
results = sorted(glob.glob(os.path.join(args.root_data_dir, "result_*.txt")))
total = sum(int(open(path).read()) for path in results)
with open(os.path.join(args.root_data_dir, "summary.txt"), "w") as out:
    out.write(f"{len(results)} locations, total {total}\n")
logging.info("summarised %d locations", len(results))
