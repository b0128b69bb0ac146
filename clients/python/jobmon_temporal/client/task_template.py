"""TaskTemplate: a command with named placeholders split into node args (what the template is
parallelised over), task args (data that makes a command unique across workflows) and op args
(operational knobs that may change without changing a task's identity), as in Jobmon."""

import itertools
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from jobmon_temporal.client.task import Task, TaskRef
from jobmon_temporal.core.checks import (
    arg_value,
    check_limit,
    check_max_attempts,
    check_resources,
    check_scales,
    check_task_name,
    check_template_args,
)

# create_task's own keywords: an arg of the same name could never be passed, so refuse it early.
_TASK_KEYWORDS = {
    "name", "upstream_tasks", "task_attributes", "max_attempts", "compute_resources",
    "compute_resources_callable", "resource_scales", "cluster_name", "fallback_queues",
    "max_concurrently_running",
}


class TaskTemplate:
    """Made by ``Tool.get_task_template(...)``."""

    def __init__(self, tool_name: str, template_name: str, command_template: str,
                 node_args: Optional[List[str]] = None, task_args: Optional[List[str]] = None,
                 op_args: Optional[List[str]] = None) -> None:
        if not isinstance(template_name, str) or not template_name.strip():
            raise ValueError("get_task_template needs a non-empty template_name")
        what = f"task template {template_name!r}"
        self.tool_name = tool_name
        self.template_name = template_name
        self.command_template = command_template
        self.node_args: List[str] = list(node_args or [])
        self.task_args: List[str] = list(task_args or [])
        self.op_args: List[str] = list(op_args or [])
        self._parts = check_template_args(command_template, self.node_args, self.task_args,
                                          self.op_args, what)
        for arg in self.node_args + self.task_args + self.op_args:
            if arg in _TASK_KEYWORDS:
                raise ValueError(f"{what}: arg name {arg!r} clashes with create_task's keyword of "
                                 "that name; rename the arg")
        self._args = set(self.node_args) | set(self.task_args) | set(self.op_args)
        self.default_cluster_name: Optional[str] = None
        #: Per cluster, as in Jobmon; the key None means "whatever cluster the task runs on".
        self.default_compute_resources_set: Dict[Optional[str], Dict[str, Any]] = {}
        self.default_resource_scales_set: Dict[Optional[str], Dict[str, Any]] = {}
        self.default_max_attempts: Optional[int] = None
        #: Directory this template's commands run in; None = the directory the workflow is bound
        #: from (the control script's working directory, as under Jobmon).
        self.working_dir: Optional[str] = None

    def set_working_dir(self, path: Optional[str]) -> None:
        """Run this template's tasks in ``path`` instead of the control script's directory."""
        self.working_dir = os.path.abspath(path) if path else None

    # --- defaults (Jobmon's TaskTemplate methods) ------------------------------------------------
    def set_default_compute_resources_from_dict(self, cluster_name: str,
                                                compute_resources: Dict[str, Any]) -> None:
        self.default_cluster_name = cluster_name or self.default_cluster_name
        self.default_compute_resources_set[cluster_name or None] = dict(
            check_resources(compute_resources, "compute_resources") or {})

    def set_default_resource_scales_from_dict(self, cluster_name: str,
                                              resource_scales: Dict[str, Any]) -> None:
        self.default_cluster_name = cluster_name or self.default_cluster_name
        self.default_resource_scales_set[cluster_name or None] = check_scales(
            resource_scales, "resource_scales") or {}

    def update_default_compute_resources(self, cluster_name: str, **kwargs: Any) -> None:
        current = dict(self.default_compute_resources_set.get(cluster_name or None, {}))
        current.update(kwargs)
        self.set_default_compute_resources_from_dict(cluster_name, current)

    def update_default_resource_scales(self, cluster_name: str, **kwargs: Any) -> None:
        current = dict(self.default_resource_scales_set.get(cluster_name or None, {}))
        current.update(kwargs)
        self.set_default_resource_scales_from_dict(cluster_name, current)

    def set_default_max_attempts(self, value: int) -> None:
        self.default_max_attempts = check_max_attempts(value, "default_max_attempts")

    # --- tasks -----------------------------------------------------------------------------------
    def create_task(self, name: Optional[str] = None, upstream_tasks: Iterable[Union[Task, TaskRef]] = (),
                    task_attributes: Union[Dict[str, Any], List[str], None] = None,
                    max_attempts: Optional[int] = None,
                    compute_resources: Optional[Dict[str, Any]] = None,
                    compute_resources_callable: Optional[Callable] = None,
                    resource_scales: Optional[Dict[str, Any]] = None,
                    cluster_name: Optional[str] = None,
                    fallback_queues: Optional[List[str]] = None, **kwargs: Any) -> Task:
        """One task. ``kwargs`` must be exactly the template's args (ValueError otherwise)."""
        where = f"create_task for template {self.template_name!r}"
        _no_callable(compute_resources_callable, where)
        self._check_kwargs(kwargs, where)
        if name is not None and name != "":
            check_task_name(name)
        return Task(
            self,
            node_args={a: arg_value(kwargs[a], a, where) for a in self.node_args},
            task_args={a: arg_value(kwargs[a], a, where) for a in self.task_args},
            op_args={a: arg_value(kwargs[a], a, where) for a in self.op_args},
            name=name or None, max_attempts=max_attempts, compute_resources=compute_resources,
            resource_scales=resource_scales, cluster_name=cluster_name,
            fallback_queues=fallback_queues, task_attributes=task_attributes,
            upstream_tasks=upstream_tasks)

    def ref(self, **node_args: Any) -> TaskRef:
        """The task of these node args, named without being made: an upstream for ``create_task``
        that holds nothing of the task (for ``Workflow.bind_stream``). Takes exactly the
        template's node args."""
        where = f"ref for template {self.template_name!r}"
        given = set(node_args)
        if given != set(self.node_args):
            unknown = sorted(given - set(self.node_args))
            missing = [a for a in self.node_args if a not in given]
            problems = ([f"not node args: {', '.join(unknown)}"] if unknown else []) + (
                [f"missing: {', '.join(missing)}"] if missing else [])
            raise ValueError(f"{where}: takes exactly the node args "
                             f"({', '.join(self.node_args) or 'none'}); {'; '.join(problems)}")
        return TaskRef(self.template_name, {a: arg_value(node_args[a], a, where) for a in self.node_args})

    def create_tasks(self, max_attempts: Optional[int] = None,
                     upstream_tasks: Optional[Iterable[Union[Task, TaskRef]]] = None,
                     max_concurrently_running: Optional[int] = None,
                     compute_resources: Optional[Dict[str, Any]] = None,
                     compute_resources_callable: Optional[Callable] = None,
                     resource_scales: Optional[Dict[str, Any]] = None,
                     cluster_name: Optional[str] = None, name: Optional[str] = None,
                     task_attributes: Union[Dict[str, Any], List[str], None] = None,
                     fallback_queues: Optional[List[str]] = None, **kwargs: Any) -> List[Task]:
        """Jobmon's ``create_tasks``: one task per combination of the node args given as lists
        (first declared node arg varying slowest); task and op args take one value each.
        ``max_concurrently_running`` limits this template's tasks at once in the workflow;
        ``name`` (Jobmon's array name) is accepted and ignored: tasks get default names."""
        where = f"create_tasks for template {self.template_name!r}"
        _no_callable(compute_resources_callable, where)
        self._check_kwargs(kwargs, where)
        limit = check_limit(max_concurrently_running, "max_concurrently_running")
        fixed_task = {a: arg_value(kwargs[a], a, where) for a in self.task_args}
        fixed_op = {a: arg_value(kwargs[a], a, where) for a in self.op_args}
        axes = []
        for arg in self.node_args:
            raw = kwargs[arg]
            values = list(raw) if _is_collection(raw) else [raw]
            if not values:
                raise ValueError(f"{where}: node arg {arg!r} has an empty list of values")
            axes.append([arg_value(v, arg, where) for v in values])
        upstream = list(upstream_tasks or [])
        tasks = []
        for combination in itertools.product(*axes):
            task = Task(
                self, node_args=dict(zip(self.node_args, combination)), task_args=fixed_task,
                op_args=fixed_op, max_attempts=max_attempts, compute_resources=compute_resources,
                resource_scales=resource_scales, cluster_name=cluster_name,
                fallback_queues=fallback_queues, task_attributes=task_attributes,
                upstream_tasks=upstream)
            task._array_limit = limit
            tasks.append(task)
        return tasks

    def _check_kwargs(self, kwargs: Dict[str, Any], where: str) -> None:
        given = set(kwargs)
        if given == self._args:
            return
        unknown = sorted(given - self._args)
        missing = [a for a in self.node_args + self.task_args + self.op_args if a not in given]
        problems = []
        if unknown:
            problems.append(f"unknown argument{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        if missing:
            problems.append(f"missing argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        raise ValueError(f"{where}: {'; '.join(problems)}. The template's args are "
                         f"{self._describe_args()}")

    def _describe_args(self) -> str:
        parts = ([f"{a} (node)" for a in self.node_args] + [f"{a} (task)" for a in self.task_args]
                 + [f"{a} (op)" for a in self.op_args])
        return ", ".join(parts) if parts else "none"

    # --- bind ------------------------------------------------------------------------------------
    def _definition(self) -> tuple:
        return (self.command_template, tuple(self.node_args), tuple(self.task_args),
                tuple(self.op_args))

    def _spec(self, workflow_cluster: Optional[str], limit: Optional[int]) -> Dict[str, Any]:
        """The template as the bind API takes it. Jobmon keeps defaults per cluster; a workflow
        runs on one cluster, so the entry of the template's (else the workflow's) cluster is sent."""
        cluster = self.default_cluster_name or workflow_cluster
        resources = self.default_compute_resources_set.get(cluster)
        if resources is None:
            resources = self.default_compute_resources_set.get(None)
        scales = self.default_resource_scales_set.get(cluster)
        if scales is None:
            scales = self.default_resource_scales_set.get(None)
        return {
            "name": self.template_name,
            "command_template": self.command_template,
            "node_args": self.node_args,
            "task_args": self.task_args,
            "op_args": self.op_args,
            "default_cluster_name": self.default_cluster_name,
            "default_compute_resources": resources or None,
            "default_resource_scales": scales or None,
            "default_max_attempts": self.default_max_attempts,
            "max_concurrently_running": limit,
            "working_dir": self.working_dir,
        }

    def __repr__(self) -> str:
        return f"TaskTemplate(template_name={self.template_name!r}, command_template={self.command_template!r})"


def _is_collection(value: Any) -> bool:
    return not isinstance(value, (str, bytes, dict)) and hasattr(value, "__iter__")


def _no_callable(compute_resources_callable: Optional[Callable], where: str) -> None:
    if compute_resources_callable is not None:
        raise ValueError(
            f"{where}: compute_resources_callable is not supported: the run does not live in this "
            "process, so a Python callable cannot be evaluated when the task becomes ready. Pass "
            "compute_resources (and resource_scales for retries) instead")
