"""The program each task of burden_pipeline.py runs (stands in for a model script): it reads its
inputs, writes one small CSV, and fails on purpose when asked (to show retries and resume)."""

import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("stage", choices=["prep", "model", "aggregate", "summarise"])
parser.add_argument("--out", required=True)
parser.add_argument("--location_id", type=int)
parser.add_argument("--sex", choices=["male", "female"])
parser.add_argument("--fail-unless", default="", help="exit 1 unless this file exists")
parser.add_argument("-v", "--verbose", action="store_true")
args = parser.parse_args()

if args.fail_unless and not os.path.exists(args.fail_unless):
    print(f"missing {args.fail_unless}: failing on purpose", file=sys.stderr)
    sys.exit(1)

os.makedirs(args.out, exist_ok=True)
if args.stage == "prep":
    path = os.path.join(args.out, "prep.csv")
    rows = ["location_id,population"] + [f"{loc},{1000 * loc}" for loc in range(1, 100)]
elif args.stage == "model":
    with open(os.path.join(args.out, "prep.csv")) as f:
        assert f.readline().startswith("location_id")
    path = os.path.join(args.out, f"model_{args.location_id}_{args.sex}.csv")
    rows = ["location_id,sex,deaths", f"{args.location_id},{args.sex},{args.location_id * 7}"]
elif args.stage == "aggregate":
    total = 0
    for sex in ("male", "female"):
        with open(os.path.join(args.out, f"model_{args.location_id}_{sex}.csv")) as f:
            total += int(f.read().splitlines()[1].split(",")[2])
    path = os.path.join(args.out, f"agg_{args.location_id}.csv")
    rows = ["location_id,deaths", f"{args.location_id},{total}"]
else:
    total = 0
    for name in sorted(os.listdir(args.out)):
        if name.startswith("agg_"):
            with open(os.path.join(args.out, name)) as f:
                total += int(f.read().splitlines()[1].split(",")[1])
    path = os.path.join(args.out, "summary.csv")
    rows = ["deaths", str(total)]

with open(path, "w") as f:
    f.write("\n".join(rows) + "\n")
if args.verbose:
    print(f"{args.stage}: wrote {path}")
