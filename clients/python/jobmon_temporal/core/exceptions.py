"""Exceptions of the client. Every API refusal is an ``ApiError`` carrying the API's ``code``,
``field`` and HTTP ``status``; a server that cannot be reached is ``ApiUnreachable`` naming the URL.
Nothing here ever shows a raw HTTP dump."""

from typing import Optional


class JobmonTemporalError(Exception):
    """Base class of every error this package raises on purpose (besides ValueError/TypeError for
    bad arguments, which Jobmon raises too)."""


class ApiError(JobmonTemporalError):
    """The API refused a request: ``{"error": {"code", "message", "field"}}``.

    Attributes:
        code: machine-readable reason (``invalid``, ``unknown_queue``, ``run_active``, ...).
        field: dotted path of the offending input (``tasks[3].compute_resources.queue``), or None.
        status: HTTP status (422 invalid input, 404 unknown id, 409 conflict, 401/403 auth, ...).
        message: the API's human-readable message.
    """

    def __init__(self, message: str, code: str, status: Optional[int] = None,
                 field: Optional[str] = None, method: str = "", path: str = "") -> None:
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.method = method
        self.path = path
        super().__init__(message)

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        status = f"HTTP {self.status}, " if self.status is not None else ""
        return f"{self.message}{where} [{status}code {self.code}]"


class ApiUnreachable(JobmonTemporalError):
    """No HTTP answer: connection refused, host unknown, timeout. ``url`` is the base URL tried."""

    def __init__(self, message: str, url: str, code: str = "unreachable") -> None:
        self.url = url
        self.code = code
        self.status = None
        self.field = None
        super().__init__(message)


class WorkflowAlreadyExists(JobmonTemporalError):
    """``run(resume=False)`` found a workflow with the same workflow_args and tasks (Jobmon's)."""


class WorkflowAlreadyComplete(JobmonTemporalError):
    """The workflow exists and every task is DONE, and ``resume=False`` was asked (Jobmon's)."""


class WorkflowRunTimeout(JobmonTemporalError, RuntimeError):
    """``run()`` stopped watching after ``seconds_until_timeout``. The run itself goes on in
    Temporal; ``workflow_id`` and ``last_status`` tell where it was."""

    def __init__(self, message: str, workflow_id: int, last_status: Optional[dict]) -> None:
        self.workflow_id = workflow_id
        self.last_status = last_status
        super().__init__(message)


class DuplicateNodeArgsError(ValueError):
    """Two tasks of one template with the same node args in one workflow (Jobmon's name)."""


class NodeDependencyNotExistError(ValueError):
    """A task's upstream task was not added to the workflow (Jobmon's name)."""


class CyclicGraphError(ValueError):
    """The tasks' dependencies form a cycle (Jobmon's name)."""
