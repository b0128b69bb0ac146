"""Tool: the project a control script belongs to (Jobmon's ``Tool(name)``). It makes task templates
and workflows; binding and running go through the workflow.

Example::

    from jobmon_temporal.client.tool import Tool

    tool = Tool("burden")
    model = tool.get_task_template(
        template_name="model", command_template="python model.py --loc {loc}", node_args=["loc"],
        default_cluster_name="multiprocess", default_compute_resources={"queue": "null.q"})
    wf = tool.create_workflow(workflow_args="burden-2026-11")
    wf.add_tasks(model.create_tasks(loc=[1, 2, 3]))
    status = wf.run()  # 'D' on success
"""

import getpass
from typing import Any, Dict, List, Optional

from jobmon_temporal.client.task_template import TaskTemplate
from jobmon_temporal.client.workflow import Workflow
from jobmon_temporal.core.checks import check_max_attempts, check_resources, check_scales
from jobmon_temporal.core.requester import Requester


class Tool:
    """Args:
        name: the tool's name (created on the server at the first bind).
        active_tool_version_id: accepted for Jobmon compatibility; only "latest" is supported
            (the server versions a tool by its task templates' definitions).
        requester: a configured ``Requester``; by default from ``JMT_API_URL``/``JMT_TOKEN``.
    """

    def __init__(self, name: Optional[str] = None, active_tool_version_id: Any = "latest",
                 requester: Optional[Requester] = None) -> None:
        if name is None:
            name = f"unknown-{getpass.getuser()}"
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a Tool needs a non-empty name")
        if active_tool_version_id not in ("latest", None):
            raise ValueError("only active_tool_version_id='latest' is supported by jobmon-temporal")
        self.name = name
        self.requester = requester or Requester.from_defaults()
        self.default_cluster_name: Optional[str] = None
        self.default_compute_resources_set: Dict[str, Dict[str, Any]] = {}
        self.default_resource_scales_set: Dict[str, Dict[str, Any]] = {}
        self.default_max_attempts: Optional[int] = None
        self._templates: Dict[str, TaskTemplate] = {}

    @property
    def active_task_templates(self) -> Dict[str, TaskTemplate]:
        return dict(self._templates)

    def get_task_template(self, template_name: str, command_template: str,
                          node_args: Optional[List[str]] = None,
                          task_args: Optional[List[str]] = None,
                          op_args: Optional[List[str]] = None,
                          default_cluster_name: str = "",
                          default_compute_resources: Optional[Dict[str, Any]] = None,
                          default_resource_scales: Optional[Dict[str, Any]] = None,
                          yaml_file: Optional[str] = None,
                          max_attempts: Optional[int] = None,
                          default_max_attempts: Optional[int] = None,
                          working_dir: Optional[str] = None) -> TaskTemplate:
        """The template of that name. Asking again with the same command and args returns the
        same object (with the defaults given now); a changed definition gives a new template (a new
        version, in Jobmon's terms). One workflow can use only one definition per name."""
        candidate = TaskTemplate(self.name, template_name, command_template, node_args,
                                 task_args, op_args)
        existing = self._templates.get(template_name)
        tt = existing if existing and existing._definition() == candidate._definition() else candidate
        self._templates[template_name] = tt
        if yaml_file and (default_compute_resources is None or default_resource_scales is None):
            loaded = _read_yaml(yaml_file)
            if default_compute_resources is None:
                default_compute_resources = (loaded.get("task_template_resources") or {}).get(
                    template_name, {}).get(default_cluster_name)
            if default_resource_scales is None:
                default_resource_scales = (loaded.get("task_template_scales") or {}).get(
                    template_name, {}).get(default_cluster_name)
        if default_cluster_name:
            tt.default_cluster_name = default_cluster_name
        if default_compute_resources:
            tt.set_default_compute_resources_from_dict(default_cluster_name, default_compute_resources)
        if default_resource_scales:
            tt.set_default_resource_scales_from_dict(default_cluster_name, default_resource_scales)
        attempts = default_max_attempts if default_max_attempts is not None else max_attempts
        if attempts is not None:
            tt.set_default_max_attempts(attempts)
        if working_dir is not None:
            tt.set_working_dir(working_dir)
        return tt

    def create_workflow(self, workflow_args: Optional[str] = None, name: Optional[str] = None,
                        description: Optional[str] = None,
                        workflow_attributes: Any = None,
                        max_concurrently_running: Optional[int] = None,
                        chunk_size: Optional[int] = None,
                        default_cluster_name: Optional[str] = None,
                        default_compute_resources_set: Optional[Dict[str, Dict[str, Any]]] = None,
                        default_resource_scales_set: Optional[Dict[str, Any]] = None,
                        default_max_attempts: Optional[int] = None) -> Workflow:
        """A workflow of this tool. Tool-level defaults fill what is not given, as in Jobmon.
        ``chunk_size`` is tasks per bind request (at most 5,000, the default)."""
        wf = Workflow(self, workflow_args=workflow_args, name=name, description=description,
                      workflow_attributes=workflow_attributes,
                      max_concurrently_running=max_concurrently_running, chunk_size=chunk_size)
        attempts = default_max_attempts if default_max_attempts is not None else self.default_max_attempts
        if attempts is not None:
            wf.set_default_max_attempts(attempts)
        cluster = default_cluster_name or self.default_cluster_name
        if cluster:
            wf.set_default_cluster_name(cluster)
        for cl, resources in (default_compute_resources_set or self.default_compute_resources_set).items():
            wf.set_default_compute_resources_from_dict(cl, resources)
        if default_resource_scales_set:
            # Jobmon's create_workflow takes one dict of scales for the default cluster here.
            wf.set_default_resource_scales_from_dict(cluster or "", default_resource_scales_set)
        else:
            for cl, scales in self.default_resource_scales_set.items():
                wf.set_default_resource_scales_from_dict(cl, scales)
        return wf

    # --- tool-level defaults (Jobmon's Tool methods) -----------------------------------------
    def set_default_compute_resources_from_dict(self, cluster_name: str,
                                                compute_resources: Dict[str, Any]) -> None:
        if not self.default_cluster_name:
            self.default_cluster_name = cluster_name
        self.default_compute_resources_set[cluster_name] = dict(
            check_resources(compute_resources, "compute_resources") or {})

    def set_default_compute_resources_from_yaml(self, default_cluster_name: str, yaml_file: str,
                                                set_task_templates: bool = False,
                                                ignore_missing_keys: bool = False) -> None:
        """Jobmon's YAML form (``tool_resources`` / ``task_template_resources`` keyed by cluster).
        Needs PyYAML."""
        loaded = _read_yaml(yaml_file)
        resources = (loaded.get("tool_resources") or {}).get(default_cluster_name)
        if resources is None and not ignore_missing_keys:
            raise KeyError(f"{yaml_file}: no tool_resources for cluster {default_cluster_name!r}")
        if resources is not None:
            self.set_default_compute_resources_from_dict(default_cluster_name, resources)
        self.default_cluster_name = default_cluster_name
        if not set_task_templates:
            return
        per_template = loaded.get("task_template_resources") or {}
        for name, tt in self._templates.items():
            found = (per_template.get(name) or {}).get(default_cluster_name)
            if found is None:
                if not ignore_missing_keys:
                    raise KeyError(f"{yaml_file}: no task_template_resources for {name!r} on "
                                   f"cluster {default_cluster_name!r}")
                continue
            tt.set_default_compute_resources_from_dict(default_cluster_name, found)

    def set_default_resource_scales_from_dict(self, cluster_name: str,
                                              resource_scales: Dict[str, Any]) -> None:
        if not self.default_cluster_name:
            self.default_cluster_name = cluster_name
        self.default_resource_scales_set[cluster_name] = check_scales(
            resource_scales, "resource_scales") or {}

    def update_default_compute_resources(self, cluster_name: str, **kwargs: Any) -> None:
        current = dict(self.default_compute_resources_set.get(cluster_name, {}))
        current.update(kwargs)
        self.set_default_compute_resources_from_dict(cluster_name, current)

    def set_default_cluster_name(self, cluster_name: str) -> None:
        self.default_cluster_name = cluster_name

    def set_default_max_attempts(self, value: int) -> None:
        self.default_max_attempts = check_max_attempts(value, "default_max_attempts")

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, url={self.requester.url!r})"


def _read_yaml(path: str) -> Dict[str, Any]:
    try:
        import yaml  # type: ignore[import-not-found]
    except ImportError:
        raise ImportError(
            f"reading resources from {path} needs PyYAML (pip install pyyaml); or pass "
            "default_compute_resources as a dict") from None
    with open(path, "r", encoding="utf-8") as stream:
        loaded = yaml.safe_load(stream)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping with task_template_resources")
    return loaded
