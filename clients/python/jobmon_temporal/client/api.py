"""Jobmon's ``jobmon.client.api`` convenience module."""

from jobmon_temporal.client.tool import Tool  # noqa: F401
from jobmon_temporal.client.task_template import TaskTemplate  # noqa: F401
from jobmon_temporal.client.task import Task  # noqa: F401
from jobmon_temporal.client.workflow import Workflow  # noqa: F401
