"""A Task as the control script builds it: one command of a template with its args, its upstream
tasks and its own settings, and a TaskRef: a task named by template and node args, for upstreams
a streaming bind no longer holds. Nothing here talks to the API; ``Workflow.bind()`` and
``Workflow.bind_stream()`` send the tasks."""

import json
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

from jobmon_temporal.core.checks import (
    check_max_attempts,
    check_resources,
    check_scales,
    default_task_name,
    render,
)


def task_key(template_name: str, node_args: Dict[str, str]) -> str:
    """A task's name in a streamed bind: its template and node args (sorted), which a workflow's
    tasks never share, so a downstream task can name an upstream one the script no longer holds.
    The same text as the TypeScript client's ``taskKey``."""
    return json.dumps([template_name, dict(sorted(node_args.items()))], ensure_ascii=False,
                      separators=(",", ":"))


class TaskRef:
    """A task named without being held: ``template.ref(loc=3)``. As an upstream it makes the same
    edge as the Task it names. Whether that task is in the workflow is checked where the whole DAG
    is known: by ``Workflow.bind()`` here, by the API at commit for ``bind_stream``."""

    __slots__ = ("template_name", "node_args", "key")

    def __init__(self, template_name: str, node_args: Dict[str, str]) -> None:
        self.template_name = template_name
        self.node_args = node_args
        self.key = task_key(template_name, node_args)

    def __repr__(self) -> str:
        return f"TaskRef({self.key})"


class Task:
    """One command of a template. Made by ``TaskTemplate.create_task(s)``, not directly."""

    def __init__(self, template: "Any", node_args: Dict[str, str], task_args: Dict[str, str],
                 op_args: Dict[str, str], name: Optional[str] = None,
                 max_attempts: Optional[int] = None,
                 compute_resources: Optional[Dict[str, Any]] = None,
                 resource_scales: Optional[Dict[str, Any]] = None,
                 cluster_name: Optional[str] = None,
                 fallback_queues: Optional[List[str]] = None,
                 task_attributes: Union[Dict[str, Any], List[str], None] = None,
                 upstream_tasks: Iterable[Union["Task", TaskRef]] = ()) -> None:
        self.task_template = template
        self.node_args = node_args
        self.task_args = task_args
        self.op_args = op_args
        self._name = name
        self.max_attempts = check_max_attempts(max_attempts, "max_attempts")
        self.compute_resources = check_resources(compute_resources, "compute_resources")
        self.resource_scales = check_scales(resource_scales, "resource_scales")
        self.cluster_name = cluster_name or None
        if isinstance(fallback_queues, str):
            raise TypeError("fallback_queues must be a list of queue names, not a string")
        self.fallback_queues: List[str] = list(fallback_queues or [])
        self.task_attributes: Dict[str, str] = {}
        self.upstream_tasks: Set[Task] = set()
        #: Upstreams named by ``template.ref(...)``: tasks this one depends on but does not hold.
        self.upstream_refs: Dict[str, TaskRef] = {}
        #: Set by Workflow.bind(): the task's id on the server.
        self.task_id: Optional[int] = None
        self.downstream_tasks: Set[Task] = set()
        #: Limit of this template's tasks at once, from ``create_tasks(max_concurrently_running=)``.
        self._array_limit: Optional[int] = None
        #: Set by ``Workflow.bind()``: the task's position in the bind request.
        self._bind_index: Optional[int] = None
        #: The workflow's id once bound (a task belongs to at most one workflow).
        self.workflow_id: Optional[int] = None
        if task_attributes:
            self.add_attributes(task_attributes)
        for task in upstream_tasks or ():
            self.add_upstream(task)
        # Unique within a workflow and stable across runs of the script: template + node args.
        self.node_key: Tuple[str, Tuple[Tuple[str, str], ...]] = (
            template.template_name, tuple(sorted(node_args.items())))

    @property
    def name(self) -> str:
        """The user's name, else Jobmon's ``<template>_<arg>-<value>_...``."""
        if self._name:
            return self._name
        tt = self.task_template
        return default_task_name(tt.template_name, [(k, self.node_args[k]) for k in tt.node_args])

    @property
    def command(self) -> str:
        """The command the task will run (the template rendered with this task's args)."""
        values = dict(self.node_args)
        values.update(self.task_args)
        values.update(self.op_args)
        return render(self.task_template._parts, values)

    @property
    def template_name(self) -> str:
        return self.task_template.template_name

    def add_upstream(self, ancestor: Union["Task", TaskRef]) -> None:
        """``ancestor`` (a Task, or a TaskRef naming one) must be DONE before this task starts."""
        if isinstance(ancestor, TaskRef):
            if (ancestor.template_name == self.task_template.template_name
                    and ancestor.node_args == self.node_args):
                raise ValueError(f"task {self.name} cannot be its own upstream")
            self.upstream_refs.setdefault(ancestor.key, ancestor)
            return
        if not isinstance(ancestor, Task):
            raise TypeError(f"add_upstream takes a Task or a TaskRef, got {type(ancestor).__name__}")
        if ancestor is self:
            raise ValueError(f"task {self.name} cannot be its own upstream")
        self.upstream_tasks.add(ancestor)
        ancestor.downstream_tasks.add(self)

    def add_downstream(self, descendant: "Task") -> None:
        descendant.add_upstream(self)

    def add_upstreams(self, ancestors: Iterable[Union["Task", TaskRef]]) -> None:
        for task in ancestors:
            self.add_upstream(task)

    def add_attribute(self, attribute: str, value: Any = "") -> None:
        if not isinstance(attribute, str) or not attribute.strip():
            raise ValueError("a task attribute needs a non-empty name")
        if isinstance(value, (list, tuple, dict, set)) or value is None:
            raise ValueError(f"task attribute {attribute!r} must be a string or a number")
        self.task_attributes[attribute] = str(value)

    def add_attributes(self, task_attributes: Union[Dict[str, Any], List[str]]) -> None:
        """A dict of name → value, or (as in Jobmon) a list of names with empty values."""
        if isinstance(task_attributes, dict):
            for key, value in task_attributes.items():
                self.add_attribute(key, value)
        elif isinstance(task_attributes, (list, tuple, set)):
            for key in task_attributes:
                self.add_attribute(key)
        else:
            raise TypeError("task_attributes must be a dict or a list of names")

    @property
    def key(self) -> str:
        """Its key in a streamed bind (see ``task_key``)."""
        return task_key(self.task_template.template_name, self.node_args)

    def _spec(self, key: str, upstream: List[str]) -> Dict[str, Any]:
        """The task as the bind API takes it, ``upstream`` being its upstreams' keys in this bind."""
        spec: Dict[str, Any] = {
            "key": key,
            "template": self.task_template.template_name,
            "node_args": self.node_args,
        }
        if self.task_args:
            spec["task_args"] = self.task_args
        if self.op_args:
            spec["op_args"] = self.op_args
        if self._name:
            spec["name"] = self._name
        if upstream:
            spec["upstream"] = upstream
        if self.compute_resources is not None:
            spec["compute_resources"] = self.compute_resources
        if self.cluster_name:
            spec["cluster_name"] = self.cluster_name
        if self.resource_scales is not None:
            spec["resource_scales"] = self.resource_scales
        if self.fallback_queues:
            spec["fallback_queues"] = self.fallback_queues
        if self.max_attempts is not None:
            spec["max_attempts"] = self.max_attempts
        if self.task_attributes:
            spec["attributes"] = self.task_attributes
        return spec

    def __repr__(self) -> str:
        return f"Task(name={self.name!r})"
