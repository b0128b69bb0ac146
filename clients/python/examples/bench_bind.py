"""Measure binding a large workflow from Python: N tasks (100 model tasks per location plus one
aggregate per location depending on them), bound in chunks of 5,000, then bound again (the
resume path: same workflow found, mutable fields updated).

    JMT_API_URL=http://127.0.0.1:8070 python bench_bind.py [N]
"""

import sys
import time

from jobmon_temporal.client.tool import Tool


def main(n: int = 100_000) -> None:
    started = time.perf_counter()
    tool = Tool("bench-bind")
    model = tool.get_task_template(
        template_name="model", command_template="model --loc {loc} --year {year} {v}",
        node_args=["loc", "year"], op_args=["v"])
    agg = tool.get_task_template(template_name="agg", command_template="agg --loc {loc}",
                                 node_args=["loc"])
    wf = tool.create_workflow(workflow_args=f"bench-{n}-{time.time_ns()}", default_cluster_name="dummy",
                              default_compute_resources_set={"dummy": {"queue": "null.q"}})
    for loc in range(n // 101):
        models = model.create_tasks(loc=loc, year=list(range(100)), v="-v")
        wf.add_tasks(models)
        wf.add_task(agg.create_task(loc=loc, upstream_tasks=models))
    built = time.perf_counter()
    wf.bind()
    bound = time.perf_counter()
    wf.bind()
    rebound = time.perf_counter()
    edges = sum(len(t.upstream_tasks) for t in wf.tasks.values())
    print(f"{len(wf.tasks)} tasks, {edges} edges: build {built - started:.1f} s, "
          f"bind {bound - built:.1f} s, re-bind {rebound - bound:.1f} s (workflow {wf.workflow_id})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
