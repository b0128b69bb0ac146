"""A typical Jobmon control script, converted: prep → model (location × sex) → aggregate per
location → summarise. The ONLY lines that differ from the Jobmon original are the two imports
marked "jobmon:" below; the server address comes from JOBMON__HTTP__SERVICE_URL (as for Jobmon) or
JMT_API_URL.

    python burden_pipeline.py OUT_DIR [CLUSTER] [RELEASE]

Run it again with the same arguments to resume: DONE tasks are not run again.
"""

import os
import sys

from jobmon_temporal.client.tool import Tool  # jobmon: from jobmon.client.tool import Tool
from jobmon_temporal.core.constants import WorkflowRunStatus  # jobmon: from jobmon.core.constants import WorkflowRunStatus

THIS_DIR = os.path.dirname(os.path.abspath(__file__))
STEP = os.path.join(THIS_DIR, "burden_step.py")
LOCATIONS = [1, 2, 3, 4, 5, 6]
SEXES = ["male", "female"]


def main(out_dir: str, cluster: str = "slurm", release: str = "2026-11") -> None:
    tool = Tool(name="burden_pipeline")
    tool.set_default_compute_resources_from_dict(
        cluster, {"queue": "null.q", "cores": 1, "memory": "1G", "runtime": "10m"})

    prep_tt = tool.get_task_template(
        template_name="prep",
        command_template="{python} {script} prep --out {out_dir} {verbose}",
        node_args=[],
        task_args=["out_dir"],
        op_args=["python", "script", "verbose"],
        default_cluster_name=cluster,
    )
    model_tt = tool.get_task_template(
        template_name="model",
        command_template=("{python} {script} model --out {out_dir} --location_id {location_id} "
                          "--sex {sex} --fail-unless {gate} {verbose}"),
        node_args=["location_id", "sex"],
        task_args=["out_dir"],
        op_args=["python", "script", "gate", "verbose"],
        default_cluster_name=cluster,
        default_compute_resources={"queue": "null.q", "cores": 1, "memory": "2G", "runtime": "20m"},
    )
    agg_tt = tool.get_task_template(
        template_name="aggregate",
        command_template="{python} {script} aggregate --out {out_dir} --location_id {location_id}",
        node_args=["location_id"],
        task_args=["out_dir"],
        op_args=["python", "script"],
        default_cluster_name=cluster,
    )
    summary_tt = tool.get_task_template(
        template_name="summarise",
        command_template="{python} {script} summarise --out {out_dir}",
        node_args=[],
        task_args=["out_dir"],
        op_args=["python", "script"],
        default_cluster_name=cluster,
    )

    wf = tool.create_workflow(
        workflow_args=f"burden-{release}",
        name=f"burden pipeline {release}",
        description="prep, model by location and sex, aggregate, summarise",
        workflow_attributes={"release": release},
        max_concurrently_running=8,
    )
    wf.set_default_max_attempts(2)
    wf.set_task_template_max_concurrency_limit("model", 4)

    common = {"python": sys.executable, "script": STEP, "out_dir": out_dir}
    # The "gate" file lets a demo fail the model stage on purpose; it is an op arg, so changing it
    # does not change the workflow's identity (a resume).
    gate = os.environ.get("BURDEN_GATE", STEP)
    prep = prep_tt.create_task(verbose="-v", **common)
    aggregates = []
    for location_id in LOCATIONS:
        models = model_tt.create_tasks(
            location_id=location_id, sex=SEXES, gate=gate, verbose="-v",
            upstream_tasks=[prep], **common)
        agg = agg_tt.create_task(location_id=location_id, upstream_tasks=models, **common)
        agg.add_attribute("location_id", location_id)
        wf.add_tasks(models + [agg])
        aggregates.append(agg)
    summary = summary_tt.create_task(upstream_tasks=aggregates, **common)
    wf.add_tasks([prep, summary])

    status = wf.run(resume=True, seconds_until_timeout=3600)
    print(f"workflow_id={wf.workflow_id} status={status}")
    if status != WorkflowRunStatus.DONE:
        raise RuntimeError(f"workflow {wf.workflow_id} ended with status {status}")


if __name__ == "__main__":
    main(*sys.argv[1:])
