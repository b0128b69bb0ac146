"""Task program for the concurrency tests: records when it ran, then sleeps."""
import sys
import time

log, seconds = sys.argv[1], float(sys.argv[2])
with open(log, "a") as f:
    f.write(f"start {time.time()}\n")
time.sleep(seconds)
with open(log, "a") as f:
    f.write(f"end {time.time()}\n")
