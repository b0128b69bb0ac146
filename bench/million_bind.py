"""bench:million's Python client: stream-bind the bench's layered DAG (bench/environment.ts,
``layeredTaskStream``: the same tool, templates, tasks and workflow_args) with
``Workflow.bind_stream`` and print one JSON line: seconds, the workflow id, whether it was new,
this process's peak RSS and CPU seconds. Run after the TypeScript bind, it is a re-bind: the same
tasks from Python must be the same workflow.

    JMT_API_URL=... python bench/million_bind.py TOTAL
"""

import json
import resource
import sys
import time

from jobmon_temporal.client.tool import Tool


def layered(tool: Tool, total: int):
    scale = max(1, round(total / 100_000))
    fixed = 1 + 100 * scale + 10_000 * scale + 100 * scale + 1
    sizes = [1, 100 * scale, 10_000 * scale, total - fixed, 100 * scale, 1]
    templates = [tool.get_task_template(template_name=f"level{level}", command_template="true {i}",
                                        node_args=["i"]) for level in range(len(sizes))]

    def upstream_range(size: int, prev: int, i: int):
        if size >= prev:
            return i % prev, i % prev + 1
        share = -(-prev // size)
        return i * share, min(prev, (i + 1) * share)

    def tasks():
        for level, size in enumerate(sizes):
            tt = templates[level]
            for i in range(size):
                ups = []
                if level > 0:
                    start, end = upstream_range(size, sizes[level - 1], i)
                    ups = [templates[level - 1].ref(i=j) for j in range(start, end)]
                yield tt.create_task(i=i, upstream_tasks=ups)

    return templates, tasks()


def main(total: int) -> None:
    tool = Tool("bench-million")
    templates, tasks = layered(tool, total)
    wf = tool.create_workflow(workflow_args=f"bench-million-{total}", default_cluster_name="dummy",
                              default_compute_resources_set={"dummy": {"queue": "null.q"}})
    started = time.perf_counter()
    workflow_id = wf.bind_stream(tasks, templates=templates)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "seconds": round(seconds, 2),
        "workflowId": workflow_id,
        "newlyCreated": wf.newly_created,
        "peakRssMiB": round(usage.ru_maxrss / 1024),
        "cpuSeconds": round(usage.ru_utime + usage.ru_stime, 2),
    }))


if __name__ == "__main__":
    main(int(sys.argv[1]))
