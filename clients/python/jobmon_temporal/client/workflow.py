"""Workflow: the DAG of tasks a control script builds, bound in Postgres through the API and run
as a Temporal workflow (one WorkflowRun = one Temporal execution).

Unlike Jobmon, the run does not live in this process: ``run()`` asks the API to start it and then
only watches. Ctrl-C stops the watching, never the run (stop it with ``jmt workflow stop <id>``);
running the script again attaches to the run still going, or resumes a finished one.
"""

import re
import os
import sys
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional, TextIO, Tuple

from jobmon_temporal.client.task import Task
from jobmon_temporal.core.checks import check_limit, check_max_attempts, check_resources, check_scales
from jobmon_temporal.core.constants import MAX_TASKS_PER_CHUNK, MAX_UPSTREAM_PER_CHUNK, WorkflowRunStatus
from jobmon_temporal.core.exceptions import (
    ApiError,
    ApiUnreachable,
    CyclicGraphError,
    DuplicateNodeArgsError,
    NodeDependencyNotExistError,
    WorkflowAlreadyComplete,
    WorkflowAlreadyExists,
    WorkflowRunTimeout,
)

_TASK_FIELD = re.compile(r"^tasks\[(\d+)\]")


class Workflow:
    """Made by ``Tool.create_workflow(...)``."""

    def __init__(self, tool: Any, workflow_args: Optional[str] = None, name: Optional[str] = None,
                 description: Optional[str] = None, workflow_attributes: Any = None,
                 max_concurrently_running: Optional[int] = None,
                 chunk_size: Optional[int] = None) -> None:
        self.tool = tool
        self.requester = tool.requester
        self._workflow_args_generated = not workflow_args
        #: The workflow's identity (with its tasks): pass the same value again to resume.
        self.workflow_args: str = workflow_args or str(uuid.uuid4())
        if not isinstance(self.workflow_args, str):
            raise TypeError("workflow_args must be a string")
        self.name = name
        self.description = description
        self.max_concurrently_running = check_limit(max_concurrently_running,
                                                    "max_concurrently_running")
        size = MAX_TASKS_PER_CHUNK if chunk_size is None else chunk_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"chunk_size must be a whole number ≥ 1, got {chunk_size!r}")
        self.chunk_size = min(size, MAX_TASKS_PER_CHUNK)
        self.default_cluster_name: Optional[str] = None
        self.default_compute_resources_set: Dict[str, Dict[str, Any]] = {}
        self.default_resource_scales_set: Dict[str, Dict[str, Any]] = {}
        self.default_max_attempts: Optional[int] = None
        self.workflow_attributes: Dict[str, str] = {}
        #: Directory the tasks run in; None = the working directory at bind().
        self.working_dir: Optional[str] = None
        #: Set by bind(): per cluster, requested resource keys its type does not act on.
        self.ignored_resource_keys: Dict[str, List[str]] = {}
        #: Tasks by (template name, sorted node args), in the order they were added.
        self.tasks: Dict[Tuple[str, tuple], Task] = {}
        self._template_limits: Dict[str, int] = {}
        #: Set by bind().
        self.workflow_id: Optional[int] = None
        self.newly_created: Optional[bool] = None
        self._bound_tasks: List[Task] = []
        #: Where run() prints progress (stderr by default).
        self.output: TextIO = sys.stderr
        if workflow_attributes:
            self.add_attributes(workflow_attributes)

    # --- building ------------------------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        if not isinstance(task, Task):
            raise TypeError(f"add_task takes a Task, got {type(task).__name__}")
        if task.task_template.tool_name != self.tool.name:
            raise ValueError(f"task {task.name} comes from tool {task.task_template.tool_name!r}, "
                             f"but this workflow belongs to tool {self.tool.name!r}")
        existing = self.tasks.get(task.node_key)
        if existing is task:
            return task
        if existing is not None:
            raise DuplicateNodeArgsError(
                f"workflow already has a task of template {task.template_name!r} with node args "
                f"{dict(task.node_args)} (task {existing.name}); node args must be unique per "
                "template in a workflow")
        self.tasks[task.node_key] = task
        return task

    def add_tasks(self, tasks: Iterable[Task]) -> None:
        for task in tasks:
            self.add_task(task)

    def add_attributes(self, workflow_attributes: Any) -> None:
        """A dict of name → value, or a list of names with empty values."""
        items = (workflow_attributes.items() if isinstance(workflow_attributes, dict)
                 else [(k, "") for k in workflow_attributes])
        for key, value in items:
            if not isinstance(key, str) or not key.strip():
                raise ValueError("a workflow attribute needs a non-empty name")
            if value is None or isinstance(value, (list, tuple, dict, set)):
                raise ValueError(f"workflow attribute {key!r} must be a string or a number")
            self.workflow_attributes[key] = str(value)

    def set_default_cluster_name(self, cluster_name: str) -> None:
        self.default_cluster_name = cluster_name

    def set_default_compute_resources_from_dict(self, cluster_name: str,
                                                dictionary: Dict[str, Any]) -> None:
        self.default_compute_resources_set[cluster_name] = dict(
            check_resources(dictionary, "compute_resources") or {})

    def set_default_resource_scales_from_dict(self, cluster_name: str,
                                              dictionary: Dict[str, Any]) -> None:
        self.default_resource_scales_set[cluster_name] = check_scales(
            dictionary, "resource_scales") or {}

    def set_default_max_attempts(self, value: int) -> None:
        self.default_max_attempts = check_max_attempts(value, "default_max_attempts")

    def set_task_template_max_concurrency_limit(self, task_template_name: str, limit: int) -> None:
        """Limit one template's tasks running at once. Before bind it is sent with the bind; on a
        bound workflow it changes the live limit now (also mid-run)."""
        check_limit(limit, "limit")
        self._template_limits[task_template_name] = limit
        if self.workflow_id is not None:
            self.update_concurrency(limit, task_template_name)

    def set_max_concurrently_running(self, limit: int) -> None:
        """The workflow's limit; changes the live limit of a bound workflow too."""
        self.max_concurrently_running = check_limit(limit, "limit")
        if self.workflow_id is not None:
            self.update_concurrency(limit)

    def get_tasks_by_node_args(self, task_template_name: str, **node_args: Any) -> List[Task]:
        """Tasks of that template whose node args include these values (compared as strings)."""
        wanted = {k: str(v) for k, v in node_args.items()}
        return [t for t in self.tasks.values() if t.template_name == task_template_name
                and all(t.node_args.get(k) == v for k, v in wanted.items())]

    # --- bind ------------------------------------------------------------------------------------
    def _bind_request(self) -> Tuple[Dict[str, Any], List[Dict[str, Any]], List[Task]]:
        """The whole request at once (for callers that want it as data)."""
        draft, keys, tasks = self._draft()
        return draft, [_spec_in(task, keys) for task in tasks], tasks

    def _draft(self) -> Tuple[Dict[str, Any], Dict[Any, str], List[Task]]:
        """Tool, workflow and templates, each task's key (its index), and the tasks in order.
        ``keys`` maps id(task) → key and, when some task names upstreams by ``ref``, also each
        task's ``task_key`` → the same key (ints and strings never collide)."""
        tasks = list(self.tasks.values())
        if not tasks:
            raise ValueError("the workflow has no tasks; add_task(s) before bind() or run()")
        keys: Dict[Any, str] = {}
        for index, task in enumerate(tasks):
            keys[id(task)] = str(index)
        if any(task.upstream_refs for task in tasks):
            for task in tasks:
                keys[task.key] = keys[id(task)]
        templates: Dict[str, Any] = {}
        array_limits: Dict[str, int] = {}
        for task in tasks:
            tt = task.task_template
            seen = templates.get(tt.template_name)
            if seen is not None and seen is not tt and seen._definition() != tt._definition():
                raise ValueError(f"two different definitions of task template {tt.template_name!r} "
                                 "are used in this workflow; use one per workflow")
            templates.setdefault(tt.template_name, tt)
            if task._array_limit is not None:
                array_limits.setdefault(tt.template_name, task._array_limit)
            for up in task.upstream_tasks:
                if id(up) not in keys:
                    raise NodeDependencyNotExistError(
                        f"task {task.name} depends on task {up.name}, which was not added to the "
                        "workflow (add_task it too)")
            for ref in task.upstream_refs.values():
                if ref.key not in keys:
                    raise NodeDependencyNotExistError(
                        f"task {task.name} depends on {ref.template_name} {ref.node_args}, which "
                        "is not a task of the workflow (add_task it too)")
        return self._draft_body(templates, array_limits), keys, tasks

    def _draft_body(self, templates: Dict[str, Any], array_limits: Dict[str, int]) -> Dict[str, Any]:
        """The draft request: tool, workflow and these templates (by name)."""
        for name in self._template_limits:
            if name not in templates:
                raise ValueError(f"set_task_template_max_concurrency_limit: no task of template "
                                 f"{name!r} is in this workflow")
        cluster = self.default_cluster_name
        if not cluster:
            named = {tt.default_cluster_name for tt in templates.values() if tt.default_cluster_name}
            cluster = named.pop() if len(named) == 1 else None
        resources = self._for_cluster(self.default_compute_resources_set, cluster, "compute resources")
        scales = self._for_cluster(self.default_resource_scales_set, cluster, "resource scales")
        draft = {
            "tool": {"name": self.tool.name},
            "workflow": {
                "workflow_args": self.workflow_args,
                "name": self.name or None,
                "description": self.description or None,
                "attributes": dict(self.workflow_attributes),
                "max_concurrently_running": self.max_concurrently_running,
                "default_cluster_name": self.default_cluster_name or None,
                "default_compute_resources": resources,
                "default_resource_scales": scales,
                "default_max_attempts": self.default_max_attempts,
                # Tasks run where the control script runs (Jobmon's behaviour), unless their
                # template names another directory.
                "working_dir": self.working_dir or os.getcwd(),
            },
            "task_templates": [
                tt._spec(cluster, self._template_limits.get(name, array_limits.get(name)))
                for name, tt in templates.items()
            ],
        }
        return draft

    def _for_cluster(self, per_cluster: Dict[str, Dict[str, Any]], cluster: Optional[str],
                     what: str) -> Optional[Dict[str, Any]]:
        if not per_cluster:
            return None
        if cluster and cluster in per_cluster:
            return per_cluster[cluster] or None
        if "" in per_cluster:
            return per_cluster[""] or None
        if len(per_cluster) == 1 and not cluster:
            return next(iter(per_cluster.values())) or None
        if cluster:
            return None  # defaults given only for other clusters: none apply to this one
        raise ValueError(f"default {what} are set for several clusters "
                         f"({', '.join(sorted(per_cluster))}) and the workflow's cluster is unclear; "
                         "call set_default_cluster_name")

    def validate(self, strict: bool = True, raise_on_error: bool = True) -> bool:
        """Local checks (missing upstream tasks, cycles, template definitions). The API checks
        everything (resources, clusters, queues) again at bind."""
        try:
            _, _, tasks = self._draft()
            _check_acyclic(tasks)
        except ValueError:
            if raise_on_error:
                raise
            return False
        return True

    def bind(self) -> int:
        """Bind the DAG (draft, chunks of ≤ 5,000 tasks, commit); returns the workflow id. Binding
        the same workflow_args and tasks again returns the existing workflow (for resume). Each
        chunk's specs are made when it is sent, so the client never holds every task twice."""
        draft, keys, tasks = self._draft()
        api = self.requester
        created = api.post("/bind/drafts", draft)
        draft_path = f"/bind/drafts/{created['draft_id']}"
        try:
            for start in range(0, len(tasks), self.chunk_size):
                chunk = [_spec_in(task, keys) for task in tasks[start:start + self.chunk_size]]
                api.post(f"{draft_path}/tasks", {"tasks": chunk, "offset": start})
            bound = api.post(f"{draft_path}/commit")
        except ApiError as err:
            raise self._name_task(err, tasks) from None
        workflow_id = self._bound(bound)
        self._bound_tasks = tasks
        task_ids = bound.get("task_ids") or {}
        for task in tasks:
            task.workflow_id = workflow_id
            if keys[id(task)] in task_ids:
                task.task_id = int(task_ids[keys[id(task)]])
        return workflow_id

    def bind_stream(self, tasks: Iterable[Task], templates: Iterable[Any]) -> int:
        """Bind a workflow too large to hold in this process. ``tasks`` (a generator, typically)
        is drawn a chunk at a time as the chunks are sent, and each task can be dropped once sent,
        so the client holds a chunk of tasks, not the DAG: name upstreams with
        ``template.ref(...)``, not with the Task objects, which would keep every task alive.
        ``templates`` lists every template the tasks use (the draft declares them before the first
        task). The same tasks bound this way or by ``add_tasks`` + ``bind()`` are the same
        workflow. What needs the whole DAG (a task repeated, an upstream that is no task of the
        workflow, a cycle) is checked by the API at commit, which names the task. Tasks streamed
        are not kept: ``task_id`` stays unset on them; ``run()`` runs the bound workflow."""
        if self.tasks:
            raise ValueError(f"bind_stream binds the tasks it is given; this workflow already holds "
                             f"{len(self.tasks)} added with add_task(s): bind() those, or stream them all")
        by_name: Dict[str, Any] = {}
        for tt in templates:
            self._check_template(tt, f"template {tt.template_name!r}", by_name)
            by_name.setdefault(tt.template_name, tt)
        if not by_name:
            raise ValueError("bind_stream needs the templates its tasks use (templates=[...])")
        draft = self._draft_body(by_name, {})
        api = self.requester
        created = api.post("/bind/drafts", draft)
        draft_path = f"/bind/drafts/{created['draft_id']}"
        start = 0
        chunk: List[Task] = []
        upstream = 0  # upstream entries in the chunk: it closes at chunk_size tasks or this many
        try:
            for task in tasks:
                self._check_streamed(task, by_name)
                chunk.append(task)
                upstream += len(task.upstream_tasks) + len(task.upstream_refs)
                if len(chunk) == self.chunk_size or upstream >= MAX_UPSTREAM_PER_CHUNK:
                    self._send_chunk(draft_path, chunk, start)
                    start += len(chunk)
                    chunk = []
                    upstream = 0
            if chunk:
                self._send_chunk(draft_path, chunk, start)
            chunk = []
            # No task_ids in the answer: the tasks are gone, and a million ids would be the
            # client's largest object.
            bound = api.post(f"{draft_path}/commit?task_ids=false")
        except ApiError as err:
            raise self._name_task(err, chunk, start) from None
        return self._bound(bound)

    def _check_streamed(self, task: Task, templates: Dict[str, Any]) -> None:
        """What one streamed task allows checking here: its kind, tool and template."""
        if not isinstance(task, Task):
            raise TypeError(f"bind_stream takes Tasks, got {type(task).__name__}")
        tt = task.task_template
        if templates.get(tt.template_name) is not tt:
            self._check_template(tt, f"task {task.name}", templates)
            if tt.template_name not in templates:
                raise ValueError(f"task {task.name} is of template {tt.template_name!r}, which is "
                                 "not in bind_stream's templates")
        limit = task._array_limit
        if limit is not None and self._template_limits.get(tt.template_name) != limit:
            raise ValueError(f"task {task.name} was made with max_concurrently_running={limit}, which a "
                             "streamed bind cannot send after its draft: call "
                             f"set_task_template_max_concurrency_limit({tt.template_name!r}, {limit}) "
                             "before bind_stream")

    def _check_template(self, tt: Any, what: str, templates: Dict[str, Any]) -> None:
        if tt.tool_name != self.tool.name:
            raise ValueError(f"{what} comes from tool {tt.tool_name!r}, but this workflow belongs to "
                             f"tool {self.tool.name!r}")
        seen = templates.get(tt.template_name)
        if seen is not None and seen is not tt and seen._definition() != tt._definition():
            raise ValueError(f"two different definitions of task template {tt.template_name!r} "
                             "are used in this workflow; use one per workflow")

    def _send_chunk(self, draft_path: str, chunk: List[Task], start: int) -> None:
        specs = [task._spec(task.key, _upstream_keys_streamed(task)) for task in chunk]
        self.requester.post(f"{draft_path}/tasks", {"tasks": specs, "offset": start})

    def _bound(self, bound: Dict[str, Any]) -> int:
        """Keep what the commit answered: the workflow, whether it is new, unused resource keys."""
        workflow_id = self.workflow_id = int(bound["workflow_id"])
        self.newly_created = bool(bound["newly_created"])
        self.ignored_resource_keys = dict(bound.get("ignored_resource_keys") or {})
        for cluster, unused in sorted(self.ignored_resource_keys.items()):
            self._say(f"[wf {workflow_id}] cluster {cluster} does not use the resource key(s) "
                      f"{', '.join(unused)}; they are kept but have no effect")
        return workflow_id

    @staticmethod
    def _name_task(err: ApiError, tasks: List[Task], first: int = 0) -> ApiError:
        """``tasks[17].compute_resources.queue`` means little to a script author: add the name
        (``tasks`` holds the bind's tasks from index ``first`` on)."""
        match = _TASK_FIELD.match(err.field or "")
        if match and 0 <= int(match.group(1)) - first < len(tasks):
            task = tasks[int(match.group(1)) - first]
            err.message = f"task {task.name}: {err.message}"
            err.args = (err.message,)
            err.task = task  # type: ignore[attr-defined]
        return err

    # --- run ---------------------------------------------------------------------------------------
    def run(self, fail_fast: bool = False, seconds_until_timeout: float = 36000,
            resume: bool = True, reset_running_jobs: bool = True,
            distributor_startup_timeout: Optional[float] = None,
            resume_timeout: Optional[float] = None, configure_logging: bool = False,
            poll_interval: float = 1.0, progress: bool = True) -> str:
        """Bind if needed, start a run (or attach to the one already going) and watch it to the
        end. Returns the WorkflowRun's final status letter, as Jobmon's ``run()`` does: 'D' every
        task DONE, 'E' tasks failed, 'S' stopped, 'T' replaced by a newer run, 'A' aborted.

        ``resume`` defaults to True here (Jobmon: False): the same workflow_args and tasks resume
        the existing workflow, DONE tasks are not run again. ``resume=False`` raises
        ``WorkflowAlreadyExists`` for an existing workflow, as Jobmon does.
        ``reset_running_jobs``: True = cold resume (kill jobs of an earlier run still alive),
        False = hot (adopt them). ``seconds_until_timeout`` bounds the watching, not the run.
        ``distributor_startup_timeout``, ``resume_timeout`` and ``configure_logging`` are accepted
        for Jobmon compatibility and have no effect (there is no distributor in this process).
        """
        if not seconds_until_timeout or seconds_until_timeout <= 0:
            raise ValueError(f"seconds_until_timeout must be > 0, got {seconds_until_timeout!r}")
        say = self._say if progress else (lambda line: None)
        if self.workflow_id is None:
            self.bind()
        wf_id = self.workflow_id
        assert wf_id is not None
        if not resume and self.newly_created is False:
            report = self.get_status()
            if report.get("status") == "D":
                raise WorkflowAlreadyComplete(
                    f"workflow {wf_id} with these workflow_args and tasks is already DONE")
            raise WorkflowAlreadyExists(
                f"workflow {wf_id} already exists for these workflow_args and tasks; "
                "run(resume=True) to resume it")
        if self._workflow_args_generated:
            say(f"[wf {wf_id}] workflow_args not given, generated {self.workflow_args}; resume "
                f"with `jmt workflow resume {wf_id}`")

        run_id: Optional[int] = None
        try:
            started = self.requester.post(f"/workflows/{wf_id}/runs", {
                "resume_mode": "cold" if reset_running_jobs else "hot", "fail_fast": bool(fail_fast)})
            run_id = int(started["workflow_run_id"])
            say(f"[wf {wf_id}] run {run_id} started ({resume_mode_line(reset_running_jobs)}) — "
                f"{started.get('temporal_ui_url', '')}")
        except ApiError as err:
            if err.status != 409:
                raise
            if err.code == "workflow_done":
                say(f"[wf {wf_id}] every task is already DONE")
                return WorkflowRunStatus.DONE
            if err.code != "run_active":
                raise
            say(f"[wf {wf_id}] a run is already active; attaching to it")

        try:
            report = self._watch(wf_id, run_id, seconds_until_timeout, poll_interval, say)
        except KeyboardInterrupt:
            say(f"\n[wf {wf_id}] stopped watching; the run goes on — follow it with "
                f"`jmt workflow status {wf_id}`, stop it with `jmt workflow stop {wf_id}`")
            raise
        run = report["run"]
        say(f"[wf {wf_id}] run {run['id']} finished: {run['status']} {run.get('status_label', '')}")
        return run["status"]

    def _watch(self, wf_id: int, run_id: Optional[int], timeout: float, poll: float,
               say: Any) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Optional[Dict[str, Any]] = None
        previous_line = ""
        warned = False
        while True:
            try:
                last = self.get_status()
                line = _progress_line(last)
                if line != previous_line:
                    say(line)
                    previous_line = line
                run = last.get("run")
                if run is None and run_id is None:
                    raise ApiError(f"workflow {wf_id} has no run to watch", "no_run")
                if run and (run_id is None or run["id"] >= run_id) and \
                        run["status"] in WorkflowRunStatus.FINAL:
                    return last
            except (ApiUnreachable, ApiError) as err:
                # Only "no answer" and 5xx are worth waiting out; a 404 or 401 will not fix itself.
                if isinstance(err, ApiError) and (err.status or 0) < 500:
                    raise
                if not warned:
                    say(f"[wf {wf_id}] status unavailable ({err}); still waiting")
                warned = True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                where = f" run {last['run']['id']}" if last and last.get("run") else ""
                raise WorkflowRunTimeout(
                    f"workflow {wf_id}{where} did not finish within {timeout:g} s; it keeps running "
                    f"in Temporal — follow it with `jmt workflow status {wf_id}`", wf_id, last)
            time.sleep(min(poll, remaining))

    def _say(self, line: str) -> None:
        print(line, file=self.output, flush=True)

    # --- reading and controls (bound workflow) -----------------------------------------------------
    def _require_bound(self, method: str) -> int:
        if self.workflow_id is None:
            raise RuntimeError(f"{method}: the workflow is not bound yet; call bind() or run() first")
        return self.workflow_id

    def get_status(self) -> Dict[str, Any]:
        """GET /workflows/:id/status: status letter, counts per task status, buckets, run."""
        return self.requester.get(f"/workflows/{self._require_bound('get_status')}/status")

    def get_tasks(self, status: Optional[Iterable[str]] = None, template: Optional[str] = None,
                  limit: Optional[int] = None, offset: Optional[int] = None) -> Dict[str, Any]:
        """GET /workflows/:id/tasks: ``{"tasks": [...], "total": n}``."""
        return self.requester.get(f"/workflows/{self._require_bound('get_tasks')}/tasks", query={
            "status": list(status) if status else None, "template": template, "limit": limit,
            "offset": offset})

    def get_errors(self, limit: int = 1000) -> List[Dict[str, Any]]:
        """Errors of the workflow's task instances (Jobmon's ``workflow.get_errors()``)."""
        body = self.requester.get(f"/workflows/{self._require_bound('get_errors')}/errors",
                                  query={"limit": limit})
        return body["errors"]

    def update_concurrency(self, limit: int, task_template_name: Optional[str] = None) -> Dict[str, Any]:
        """Change the live limit of the workflow (or of one template), also mid-run."""
        body: Dict[str, Any] = {"limit": check_limit(limit, "limit")}
        if task_template_name:
            body["template"] = task_template_name
        return self.requester.put(f"/workflows/{self._require_bound('update_concurrency')}/concurrency", body)

    def stop(self, mode: str = "drain") -> Dict[str, Any]:
        """Stop the active run: "drain" lets running tasks finish, "kill" kills them."""
        return self.requester.post(f"/workflows/{self._require_bound('stop')}/stop", {"mode": mode})

    def __repr__(self) -> str:
        return (f"Workflow(workflow_args={self.workflow_args!r}, workflow_id={self.workflow_id}, "
                f"tasks={len(self.tasks)})")


def _spec_in(task: Task, keys: Dict[Any, str]) -> Dict[str, Any]:
    """A held task's spec in ``bind()``: keys by position (see ``Workflow._draft``)."""
    upstream = [keys[id(t)] for t in task.upstream_tasks]
    if task.upstream_refs:  # a ref may name a task also given as a Task: one edge
        upstream = list(dict.fromkeys(upstream + [keys[ref.key] for ref in task.upstream_refs.values()]))
    return task._spec(keys[id(task)], upstream)


def _upstream_keys_streamed(task: Task) -> List[str]:
    """A streamed task's upstreams by ``task_key``, Tasks and TaskRefs alike."""
    upstream = [t.key for t in task.upstream_tasks]
    return list(dict.fromkeys(upstream + list(task.upstream_refs))) if task.upstream_refs else upstream


def resume_mode_line(reset_running_jobs: bool) -> str:
    """How a run treats jobs an earlier run left running; the default is cold in every client
    and in the CLI (docs/converting.md, "Resume")."""
    if reset_running_jobs:
        return ("cold resume: jobs an earlier run left running are stopped and run again; "
                "reset_running_jobs=False for hot")
    return "hot resume: jobs an earlier run left running may finish; reset_running_jobs=True for cold"


def _progress_line(report: Dict[str, Any]) -> str:
    b = report.get("buckets") or {}
    total = report.get("num_tasks", 0)
    done = b.get("DONE", 0)
    pct = (done * 100) // total if total else 0
    return (f"[wf {report.get('workflow_id')}] {done}/{total} done, "
            f"{b.get('RUNNING', 0) + b.get('SCHEDULED', 0)} running, {b.get('FATAL', 0)} failed ({pct}%)")


def _check_acyclic(tasks: List[Task]) -> None:
    """Kahn's algorithm; names one task on a cycle."""
    indegree = {id(t): len(t.upstream_tasks) for t in tasks}
    ready = [t for t in tasks if indegree[id(t)] == 0]
    seen = 0
    while ready:
        task = ready.pop()
        seen += 1
        for down in task.downstream_tasks:
            if id(down) in indegree:
                indegree[id(down)] -= 1
                if indegree[id(down)] == 0:
                    ready.append(down)
    if seen != len(tasks):
        stuck = next(t for t in tasks if indegree[id(t)] > 0)
        raise CyclicGraphError(f"the dependencies form a cycle (task {stuck.name} is on or after one)")
