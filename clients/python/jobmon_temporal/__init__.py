"""Jobmon on Temporal: a Jobmon-compatible Python client over the project's HTTP API.

A Jobmon control script changes only its imports::

    from jobmon_temporal.client.tool import Tool          # was: from jobmon.client.tool import Tool
    from jobmon_temporal.core.constants import WorkflowRunStatus

The server address comes from ``JMT_API_URL`` (or ``JOBMON__HTTP__SERVICE_URL``), the token from
``JMT_TOKEN``. Standard library only.
"""

from jobmon_temporal.client.task import Task, TaskRef, task_key
from jobmon_temporal.client.task_template import TaskTemplate
from jobmon_temporal.client.tool import Tool
from jobmon_temporal.client.workflow import Workflow
from jobmon_temporal.core.constants import (
    MaxConcurrentlyRunning,
    TaskStatus,
    WorkflowRunStatus,
    WorkflowStatus,
)
from jobmon_temporal.core.exceptions import (
    ApiError,
    ApiUnreachable,
    JobmonTemporalError,
    WorkflowAlreadyComplete,
    WorkflowAlreadyExists,
    WorkflowRunTimeout,
)
from jobmon_temporal.core.requester import Requester

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ApiUnreachable",
    "JobmonTemporalError",
    "MaxConcurrentlyRunning",
    "Requester",
    "Task",
    "TaskRef",
    "TaskStatus",
    "TaskTemplate",
    "Tool",
    "Workflow",
    "WorkflowAlreadyComplete",
    "WorkflowAlreadyExists",
    "WorkflowRunStatus",
    "WorkflowRunTimeout",
    "WorkflowStatus",
    "task_key",
    "__version__",
]
