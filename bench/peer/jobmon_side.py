"""The Jobmon side of `npm run bench:peer`: build the shape's DAG with IHME Jobmon's own Python
client (Tool, TaskTemplate, Task, Workflow, add_tasks, run) against a running Jobmon server and run
it on a Jobmon cluster (dummy: tasks are marked done without running anything; sequential and
multiprocess: each task runs through worker_node_entry_point, which must be on PATH), then print one
JSON line with the figures.

    JOBMON__HTTP__SERVICE_URL=http://127.0.0.1:PORT \
      python jobmon_side.py shape.json --db-url sqlite:///jobmon.sqlite --timeout 900 \
      --distributor dummy [--sync-interval 1]

Timing: bind_s is from run() to the end of task binding (run() binds the DAG and the tasks itself;
calling bind() first would bind twice), run_s from there to run()'s return, first_task_started_s
from the end of binding to the first task instance seen RUNNING or DONE in Jobmon's database.
After the JSON line the process waits for stdin to close, so the orchestrator can read its CPU
figures (and those of its reaped distributor child) before it exits.
"""

import argparse
import json
import os
import resource
import signal
import sys
import threading
import time

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("shape", help="shape JSON written by bench/peer/shapes.ts")
    parser.add_argument("--db-url", required=True, help="the server's database (only read)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for bind + run")
    parser.add_argument("--distributor", choices=["dummy", "sequential", "multiprocess"], default="dummy")
    parser.add_argument(
        "--sync-interval",
        type=int,
        default=None,
        help="Jobmon's heartbeat.workflow_run_interval (its swarm and distributor loop period); "
        "default: Jobmon's own (30 s)",
    )
    return parser.parse_args()


def scalar(engine, sql: str):  # type: ignore[no-untyped-def]
    """One value from the server's database; None while it is locked or not there yet."""
    try:
        with engine.connect() as con:
            return con.execute(text(sql)).scalar()
    except SQLAlchemyError:
        return None


def watch_first_start(engine, since: list, found: list, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """Poll the database until a task instance is RUNNING or DONE."""
    while not stop.is_set() and not found:
        if since and scalar(engine, "select 1 from task_instance where status in ('R','D') limit 1"):
            found.append(time.monotonic())
            return
        stop.wait(0.1)


def done_count(engine):  # type: ignore[no-untyped-def]
    return scalar(engine, "select count(*) from task where status = 'D'")


def compute_resources(cluster: str) -> dict:
    """Jobmon's multiprocess queue requires cores (its null.q allows 1 to 20)."""
    return {"queue": "null.q", "cores": 1} if cluster == "multiprocess" else {"queue": "null.q"}


_reported = threading.Lock()


def report(engine, shape, n, build_s, run_start, bound_at, first, ended, status, timed_out, error):  # type: ignore[no-untyped-def]
    """Print the one JSON line the orchestrator reads (once: the run and the watchdog may race)."""
    if not _reported.acquire(blocking=False):
        return
    bind_end = bound_at[0] if bound_at else ended
    run_s = ended - bind_end
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "tasks": n,
                "edges": shape["edges"],
                "build_s": round(build_s, 3),
                "bind_s": round(bind_end - run_start, 3),
                "first_task_started_s": round(first[0] - bind_end, 3) if first else None,
                "run_s": round(run_s, 3),
                "tasks_per_s": round(n / run_s, 2) if status == "D" and run_s > 0 else None,
                "done_tasks": done_count(engine),
                "status": status,
                "timed_out": timed_out,
                "error": error,
                "client_cpu_s": round(
                    own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 2
                ),
            }
        ),
        flush=True,
    )


def watchdog(deadline, on_timeout):  # type: ignore[no-untyped-def]
    """Jobmon's seconds_until_timeout bounds only the swarm, not binding; this bounds both."""
    time.sleep(max(0.0, deadline - time.monotonic()))
    on_timeout()


def main() -> None:
    args = parse_args()
    engine = create_engine(args.db_url, pool_size=2)
    if args.sync_interval is not None:
        # Must be set before Jobmon reads its config; the distributor subprocess inherits it.
        os.environ["JOBMON__HEARTBEAT__WORKFLOW_RUN_INTERVAL"] = str(args.sync_interval)

    from jobmon.client.api import Tool
    from jobmon.client.workflow import Workflow

    with open(args.shape) as f:
        shape = json.load(f)

    started = time.monotonic()
    tool = Tool(f"peer-{shape['name']}")
    cluster = args.distributor
    templates = [
        tool.get_task_template(
            template_name=t["name"],
            command_template=t["command"],
            node_args=t["nodeArgs"],
            default_cluster_name=cluster,
            default_compute_resources=compute_resources(cluster),
        )
        for t in shape["templates"]
    ]
    tasks = []
    for spec in shape["tasks"]:
        tasks.append(
            templates[spec["template"]].create_task(
                upstream_tasks=[tasks[i] for i in spec["upstream"]],
                max_attempts=1,
                **spec["nodeArgs"],
            )
        )
    wf = tool.create_workflow(
        workflow_args=f"peer-{shape['name']}-{len(tasks)}-{os.getpid()}-{time.time()}",
        name=f"peer-{shape['name']}",
        default_cluster_name=cluster,
        default_compute_resources_set={cluster: compute_resources(cluster)},
        default_max_attempts=1,
    )
    wf.add_tasks(tasks)
    build_s = time.monotonic() - started

    # run() binds first; wrap its task-binding step to see where binding ends.
    bound_at: list = []
    original_bind_tasks = Workflow._bind_tasks

    def timed_bind_tasks(self, *a, **kw):  # type: ignore[no-untyped-def]
        result = original_bind_tasks(self, *a, **kw)
        bound_at.append(time.monotonic())
        return result

    Workflow._bind_tasks = timed_bind_tasks  # type: ignore[method-assign]

    first: list = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch_first_start, args=(engine, bound_at, first, stop), daemon=True
    )
    watcher.start()

    status = "?"
    timed_out = False
    error = ""
    run_start = time.monotonic()

    def give_up() -> None:
        stop.set()
        report(engine, shape, len(tasks), build_s, run_start, bound_at, first,
               time.monotonic(), "timeout", True, f"time limit of {args.timeout} s reached")
        sys.stdin.read()
        # run() is still busy in the main thread and its distributor is a child: end both. When
        # started by the orchestrator this process leads its own process group.
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(0)

    threading.Thread(target=watchdog, args=(started + args.timeout, give_up), daemon=True).start()
    try:
        remaining = max(1, int(args.timeout - build_s))
        status = wf.run(seconds_until_timeout=remaining) or "?"
    except RuntimeError as e:
        # Jobmon's own watch limit ("Not all tasks completed within the given workflow timeout").
        timed_out = "timeout" in str(e).lower()
        error = str(e)[:300]
    except Exception as e:  # noqa: BLE001 — report any failure as a figure, not a traceback
        error = f"{type(e).__name__}: {str(e)[:300]}"
    ended = time.monotonic()
    stop.set()
    watcher.join(timeout=5)

    report(engine, shape, len(tasks), build_s, run_start, bound_at, first, ended, status, timed_out, error)
    sys.stdin.read()


if __name__ == "__main__":
    main()
