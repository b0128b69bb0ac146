"""The Python client against the real API: bind, run, resume, limits, errors (see conftest.py)."""

import os
import re
import subprocess
import sys
import time

import pytest

from jobmon_temporal import (
    ApiError,
    WorkflowAlreadyComplete,
    WorkflowAlreadyExists,
    WorkflowRunStatus,
)

pytestmark = pytest.mark.e2e

HERE = os.path.dirname(os.path.abspath(__file__))
SPAN = os.path.join(HERE, "span.py")
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
RUN_TIMEOUT = 120  # seconds of watching per run; every run here takes a few seconds


def tasks_of(wf):
    return wf.get_tasks(limit=10_000)["tasks"]


def task_details(wf, task_id):
    return wf.requester.get(f"/tasks/{task_id}")


def spans(log_dir):
    """[(start, end)] of every task that wrote a log in log_dir."""
    out = []
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name)) as f:
            lines = [line.split() for line in f.read().splitlines()]
        starts = [float(v) for k, v in lines if k == "start"]
        ends = [float(v) for k, v in lines if k == "end"]
        assert len(starts) == len(ends) == 1, f"{name}: ran {len(starts)} times"
        out.append((starts[0], ends[0]))
    return out


def max_overlap(intervals):
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                    key=lambda ev: (ev[0], ev[1]))
    now = peak = 0
    for _, delta in events:
        now += delta
        peak = max(peak, now)
    return peak


def test_multi_stage_dag_runs_to_done_with_real_commands(make_tool, unique, tmp_path):
    out = tmp_path / "out"
    tool = make_tool("py-dag")
    prep = tool.get_task_template(
        template_name="prep", command_template="mkdir -p {out} && echo prepared > {out}/prep.txt",
        node_args=[], task_args=["out"])
    model = tool.get_task_template(
        template_name="model",
        command_template="cat {out}/prep.txt > {out}/m-{loc}-{sex}.txt && echo {loc}-{sex} {flag}",
        node_args=["loc", "sex"], task_args=["out"], op_args=["flag"],
        default_cluster_name="multiprocess",
        default_compute_resources={"queue": "null.q", "cores": 1, "memory": "1G"})
    agg = tool.get_task_template(
        template_name="agg", command_template="cat {out}/m-{loc}-*.txt > {out}/agg-{loc}.txt",
        node_args=["loc"], task_args=["out"])
    final = tool.get_task_template(
        template_name="final", command_template="ls {out} > {out}/final.txt", node_args=[],
        task_args=["out"])
    wf = tool.create_workflow(
        workflow_args=f"dag-{unique}", name="py dag", description="four stages",
        workflow_attributes={"release": "r1"}, default_cluster_name="multiprocess",
        default_compute_resources_set={"multiprocess": {"queue": "null.q"}},
        default_max_attempts=1)
    p = prep.create_task(out=str(out))
    aggs = []
    for loc in (1, 2, 3):
        models = model.create_tasks(loc=loc, sex=["m", "f"], out=str(out), flag="-v",
                                    upstream_tasks=[p])
        a = agg.create_task(loc=loc, out=str(out), upstream_tasks=models,
                            task_attributes={"location": loc})
        wf.add_tasks(models + [a])
        aggs.append(a)
    f = final.create_task(name="final_listing", out=str(out), upstream_tasks=aggs)
    wf.add_tasks([p, f])
    assert len(wf.tasks) == 11
    assert models[0].command == f"cat {out}/prep.txt > {out}/m-3-m.txt && echo 3-m -v"

    status = wf.run(seconds_until_timeout=RUN_TIMEOUT)

    assert status == WorkflowRunStatus.DONE == "D"
    assert wf.newly_created is True
    report = wf.get_status()
    assert report["status"] == "D"
    assert report["num_tasks"] == 11 and report["buckets"]["DONE"] == 11
    assert report["run"]["status"] == "D"
    assert sorted(t["name"] for t in report["templates"]) == ["agg", "final", "model", "prep"]
    assert (out / "agg-2.txt").read_text() == "prepared\nprepared\n"
    assert "agg-3.txt" in (out / "final.txt").read_text()
    # Names, attributes and commands arrived as the script made them.
    rows = {t["name"]: t for t in tasks_of(wf)}
    assert set(rows) >= {"final_listing", "model_loc-1_sex-m", "agg_loc-3", "prep"}
    details = task_details(wf, rows["agg_loc-3"]["id"])
    assert details["task"]["attributes"] == {"location": "3"}
    assert details["task"]["command"] == f"cat {out}/m-3-*.txt > {out}/agg-3.txt"
    assert details["instances"][0]["exit_code"] == 0

    # The same script again: the same workflow, already DONE, nothing runs.
    again = make_tool("py-dag")
    wf2 = again.create_workflow(
        workflow_args=f"dag-{unique}", name="py dag", description="four stages",
        workflow_attributes={"release": "r1"}, default_cluster_name="multiprocess",
        default_compute_resources_set={"multiprocess": {"queue": "null.q"}},
        default_max_attempts=1)
    wf2.add_tasks(wf.tasks.values())  # same Task objects are fine: identity is args, not objects
    assert wf2.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == "D"
    assert wf2.workflow_id == wf.workflow_id and wf2.newly_created is False


def build_flaky(tool_name, unique, marker, make_tool):
    """The 'control script' of the resume test, as a function so it can be run twice."""
    tool = make_tool(tool_name)
    ok = tool.get_task_template(template_name="ok", command_template="echo ok {i}", node_args=["i"])
    flaky = tool.get_task_template(template_name="flaky", command_template=f"test -f {marker}",
                                   node_args=[])
    after = tool.get_task_template(template_name="after", command_template="echo after",
                                   node_args=[])
    wf = tool.create_workflow(workflow_args=f"resume-{unique}", default_cluster_name="multiprocess",
                              default_compute_resources_set={"multiprocess": {"queue": "null.q"}})
    oks = ok.create_tasks(i=[1, 2, 3])
    f = flaky.create_task(max_attempts=2, upstream_tasks=oks)
    wf.add_tasks(oks + [f, after.create_task(upstream_tasks=[f])])
    return wf


def test_resume_after_failure_skips_done_tasks(make_tool, unique, tmp_path):
    marker = tmp_path / "fixed"
    first = build_flaky("py-resume", unique, marker, make_tool)

    assert first.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == WorkflowRunStatus.ERROR
    wf_id = first.workflow_id
    report = first.get_status()
    assert {k: v for k, v in report["counts"].items() if v} == {"D": 3, "F": 1, "G": 1}
    flaky_row = next(t for t in tasks_of(first) if t["template"] == "flaky")
    assert flaky_row["num_attempts"] == 2 and flaky_row["status"] == "F"
    errors = first.get_errors()
    assert len(errors) == 2 and all(e["task_name"] == "flaky" for e in errors)

    # Fix the cause, run the same script again: the same workflow resumes, DONE tasks are skipped.
    marker.write_text("")
    second = build_flaky("py-resume", unique, marker, make_tool)
    assert second.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == "D"
    assert second.workflow_id == wf_id and second.newly_created is False
    attempts = {t["name"]: len(task_details(second, t["id"])["instances"]) for t in tasks_of(second)}
    assert attempts == {"ok_i-1": 1, "ok_i-2": 1, "ok_i-3": 1, "flaky": 3, "after": 1}

    # resume=False refuses an existing workflow, as Jobmon's run() does (a DONE one specially).
    third = build_flaky("py-resume", unique, marker, make_tool)
    with pytest.raises(WorkflowAlreadyComplete):
        third.run(resume=False, progress=False)


def test_concurrency_limits_are_honoured(make_tool, unique, tmp_path):
    tool = make_tool("py-limits")
    serial_logs, batch_logs, all_logs = (tmp_path / "serial", tmp_path / "batch", tmp_path / "all")
    for d in (serial_logs, batch_logs, all_logs):
        d.mkdir()
    serial = tool.get_task_template(
        template_name="serial", command_template=f"{sys.executable} {SPAN} {serial_logs}/{{i}} 0.4",
        node_args=["i"])
    batch = tool.get_task_template(
        template_name="batch", command_template=f"{sys.executable} {SPAN} {batch_logs}/{{i}} 0.4",
        node_args=["i"])
    wf = tool.create_workflow(workflow_args=f"limits-{unique}", default_cluster_name="multiprocess",
                              default_compute_resources_set={"multiprocess": {"queue": "null.q"}})
    wf.add_tasks(serial.create_tasks(i=[1, 2, 3]))
    wf.add_tasks(batch.create_tasks(i=[1, 2, 3], max_concurrently_running=1))  # Jobmon's array limit
    wf.set_task_template_max_concurrency_limit("serial", 1)

    assert wf.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == "D"
    limits = {t["name"]: t["max_concurrently_running"] for t in wf.get_status()["templates"]}
    assert limits == {"serial": 1, "batch": 1}
    assert max_overlap(spans(serial_logs)) == 1
    assert max_overlap(spans(batch_logs)) == 1
    assert len(spans(serial_logs)) == len(spans(batch_logs)) == 3

    # The workflow-wide limit.
    one = tool.get_task_template(
        template_name="one", command_template=f"{sys.executable} {SPAN} {all_logs}/{{i}} 0.3",
        node_args=["i"])
    wf2 = tool.create_workflow(workflow_args=f"limits-wf-{unique}", max_concurrently_running=1,
                               default_cluster_name="multiprocess",
                               default_compute_resources_set={"multiprocess": {"queue": "null.q"}})
    wf2.add_tasks(one.create_tasks(i=[1, 2, 3, 4]))
    assert wf2.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == "D"
    assert wf2.get_status()["max_concurrently_running"] == 1
    assert max_overlap(spans(all_logs)) == 1


def test_bad_input_raises_a_python_exception_naming_the_field(make_tool, unique):
    tool = make_tool("py-errors")
    tt = tool.get_task_template(template_name="m", command_template="echo {loc}", node_args=["loc"])

    wf = tool.create_workflow(workflow_args=f"bad-queue-{unique}", default_cluster_name="multiprocess",
                              default_compute_resources_set={"multiprocess": {"queue": "null.q"}})
    wf.add_tasks(tt.create_tasks(loc=[1, 2, 3]))
    wf.tasks[("m", (("loc", "2"),))].compute_resources = {"queue": "no_such.q"}
    with pytest.raises(ApiError) as caught:
        wf.bind()
    err = caught.value
    assert (err.status, err.code, err.field) == (422, "unknown_queue", "tasks[1].compute_resources.queue")
    assert "task m_loc-2" in str(err) and "no_such.q" in str(err) and "null.q" in str(err)
    assert "{" not in str(err)  # a sentence, not a JSON/HTTP dump
    assert wf.workflow_id is None

    wf = tool.create_workflow(workflow_args=f"bad-cluster-{unique}", default_cluster_name="nowhere",
                              default_compute_resources_set={"nowhere": {"queue": "null.q"}})
    wf.add_tasks(tt.create_tasks(loc=[1]))
    with pytest.raises(ApiError) as caught:
        wf.run(progress=False)
    assert (caught.value.status, caught.value.field) == (422, "workflow.default_cluster_name")
    assert "nowhere" in str(caught.value)

    wf = tool.create_workflow(workflow_args=f"bad-cores-{unique}", default_cluster_name="multiprocess")
    wf.add_tasks(tt.create_tasks(loc=[1], compute_resources={"queue": "null.q", "cores": 10_000}))
    with pytest.raises(ApiError) as caught:
        wf.bind()
    assert caught.value.field == "tasks[0].compute_resources.cores"
    assert caught.value.code == "outside_queue_limits"

    # Same workflow_args, different tasks: Jobmon's WorkflowAlreadyExists case, from the API.
    wf = tool.create_workflow(workflow_args=f"reused-{unique}", default_cluster_name="dummy",
                              default_compute_resources_set={"dummy": {"queue": "null.q"}})
    wf.add_tasks(tt.create_tasks(loc=[1, 2]))
    wf.bind()
    wf = tool.create_workflow(workflow_args=f"reused-{unique}", default_cluster_name="dummy",
                              default_compute_resources_set={"dummy": {"queue": "null.q"}})
    wf.add_tasks(tt.create_tasks(loc=[1, 2, 3]))
    with pytest.raises(ApiError) as caught:
        wf.bind()
    assert (caught.value.status, caught.value.code) == (409, "workflow_args_reused")
    # resume=False on an existing, unfinished workflow: Jobmon's WorkflowAlreadyExists.
    wf = tool.create_workflow(workflow_args=f"reused-{unique}", default_cluster_name="dummy",
                              default_compute_resources_set={"dummy": {"queue": "null.q"}})
    wf.add_tasks(tt.create_tasks(loc=[1, 2]))
    with pytest.raises(WorkflowAlreadyExists):
        wf.run(resume=False, progress=False)

    # An unknown workflow id is a 404 with the API's message.
    wf.workflow_id = 987654321
    with pytest.raises(ApiError) as caught:
        wf.get_status()
    assert caught.value.status == 404


def test_chunked_bind_of_many_tasks_and_run_on_dummy(make_tool, unique):
    tool = make_tool("py-chunks")
    model = tool.get_task_template(template_name="model", command_template="model {loc} {year}",
                                   node_args=["loc", "year"])
    agg = tool.get_task_template(template_name="agg", command_template="agg {loc}", node_args=["loc"])
    wf = tool.create_workflow(workflow_args=f"chunks-{unique}", default_cluster_name="dummy",
                              default_compute_resources_set={"dummy": {"queue": "null.q"}})
    for loc in range(120):
        models = model.create_tasks(loc=loc, year=list(range(100)))
        wf.add_tasks(models + [agg.create_task(loc=loc, upstream_tasks=models)])
    assert len(wf.tasks) == 12_120  # three requests of ≤ 5,000 tasks

    started = time.monotonic()
    wf.bind()
    bind_seconds = time.monotonic() - started
    print(f"bound {len(wf.tasks)} tasks in {bind_seconds:.2f} s")
    assert wf.get_status()["num_tasks"] == 12_120
    assert bind_seconds < 60
    assert wf.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == "D"
    assert wf.get_status()["buckets"]["DONE"] == 12_120


def test_bind_stream_is_the_same_workflow_as_bind_and_runs(make_tool, unique):
    tool = make_tool("py-stream")
    model = tool.get_task_template(template_name="model", command_template="model {loc} {year}",
                                   node_args=["loc", "year"])
    agg = tool.get_task_template(template_name="agg", command_template="agg {loc}", node_args=["loc"])

    def tasks():  # 60 locations × (100 models + 1 aggregate), each made as it is drawn
        for loc in range(60):
            yield from model.create_tasks(loc=loc, year=list(range(100)))
            yield agg.create_task(loc=loc, upstream_tasks=[model.ref(loc=loc, year=y) for y in range(100)])

    def workflow():
        return tool.create_workflow(workflow_args=f"stream-{unique}", default_cluster_name="dummy",
                                    default_compute_resources_set={"dummy": {"queue": "null.q"}})

    streamed = workflow()
    wf_id = streamed.bind_stream(tasks(), templates=[model, agg])
    assert streamed.newly_created is True and streamed.get_status()["num_tasks"] == 6_060

    held = workflow()
    held.add_tasks(tasks())
    assert held.bind() == wf_id and held.newly_created is False

    dangling = tool.create_workflow(workflow_args=f"dangling-{unique}", default_cluster_name="dummy",
                                    default_compute_resources_set={"dummy": {"queue": "null.q"}})
    with pytest.raises(ApiError) as caught:
        dangling.bind_stream(iter([agg.create_task(loc=0, upstream_tasks=[model.ref(loc=0, year=1)])]),
                             templates=[model, agg])
    assert caught.value.status == 422 and caught.value.field and caught.value.field.startswith("tasks[0]")

    assert streamed.run(seconds_until_timeout=RUN_TIMEOUT, progress=False) == "D"
    assert streamed.get_status()["buckets"]["DONE"] == 6_060


def test_jobmon_style_control_script_runs_and_resumes(tmp_path):
    """examples/burden_pipeline.py is a Jobmon script with only its imports changed; run it as a
    user would, make it fail, then run it again to resume."""
    out = tmp_path / "burden"
    gate = tmp_path / "gate"
    release = f"test-{time.time_ns()}"
    script = os.path.join(EXAMPLES, "burden_pipeline.py")
    env = dict(os.environ, BURDEN_GATE=str(gate))

    first = subprocess.run([sys.executable, script, str(out), "multiprocess", release], env=env,
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert first.returncode != 0, first.stdout + first.stderr
    assert "ended with status E" in first.stderr
    assert (out / "prep.csv").exists() and not (out / "summary.csv").exists()

    gate.write_text("")
    second = subprocess.run([sys.executable, script, str(out), "multiprocess", release], env=env,
                            capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "status=D" in second.stdout
    assert (out / "summary.csv").read_text() == "deaths\n294\n"  # 7 × 2 × (1+…+6)
    first_id = re.search(r"\[wf (\d+)\]", first.stderr)
    assert first_id, first.stderr
    assert f"workflow_id={first_id.group(1)} status=D" in second.stdout  # the same workflow resumed


def test_relative_command_and_log_dirs_behave_as_under_jobmon(make_tool, unique, tmp_path, monkeypatch):
    """A Jobmon script's `python model.py` runs in the control script's directory, and its
    `stdout`/`stderr` resource keys name the log directories (Jobmon's <name>.o<id> files); a key
    the cluster type does not use is accepted and reported (issue 17)."""
    (tmp_path / "model.py").write_text(
        "import sys\n"
        "open(f'out_{sys.argv[1]}.txt', 'w').write('ok')\n"
        "print('hello from model', sys.argv[1])\n"
        "print('a warning from model', sys.argv[1], file=sys.stderr)\n")
    monkeypatch.chdir(tmp_path)
    tool = make_tool("py-cwd")
    model = tool.get_task_template(
        template_name="model", command_template="{python} model.py {loc}", node_args=["loc"],
        op_args=["python"], default_cluster_name="multiprocess",
        default_compute_resources={"queue": "null.q", "stdout": str(tmp_path / "logs" / "out"),
                                   "stderr": "logs/err", "project": "proj_x"})
    wf = tool.create_workflow(workflow_args=f"py-cwd-{unique}")
    tasks = model.create_tasks(loc=[1, 2], python=sys.executable)
    wf.add_tasks(tasks)
    assert wf.run(seconds_until_timeout=RUN_TIMEOUT) == "D"
    assert (tmp_path / "out_1.txt").read_text() == "ok" and (tmp_path / "out_2.txt").exists()
    assert wf.ignored_resource_keys == {"multiprocess": ["project"]}

    listed = {t["key"]: t for t in tasks_of(wf)}
    for key, task in enumerate(tasks):
        assert listed[str(key)]["id"] == task.task_id
        assert listed[str(key)]["node_args"] == {"loc": str(key + 1)}
        instance = task_details(wf, task.task_id)["instances"][-1]
        assert instance["stdout_path"].startswith(str(tmp_path / "logs" / "out" / f"model_loc-{key + 1}.o"))
        assert instance["stderr_path"].startswith(str(tmp_path / "logs" / "err" / f"model_loc-{key + 1}.e"))
        with open(instance["stdout_path"]) as out:
            assert f"hello from model {key + 1}" in out.read()
        with open(instance["stderr_path"]) as err:
            assert f"a warning from model {key + 1}" in err.read()
