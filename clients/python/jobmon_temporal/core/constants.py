"""Jobmon's status letters, kept verbatim (as in ``jobmon.core.constants``)."""


class WorkflowRunStatus:
    """What ``Workflow.run()`` returns: the final status letter of the WorkflowRun."""

    REGISTERED = "G"
    LINKING = "L"
    BOUND = "B"
    ABORTED = "A"
    INSTANTIATED = "I"
    LAUNCHED = "O"
    RUNNING = "R"
    DONE = "D"
    STOPPED = "S"
    ERROR = "E"
    COLD_RESUME = "C"
    HOT_RESUME = "H"
    TERMINATED = "T"

    #: A run in one of these will not change any more.
    FINAL = ("D", "S", "E", "T", "A")


class WorkflowStatus:
    REGISTERING = "G"
    QUEUED = "Q"
    ABORTED = "A"
    INSTANTIATING = "I"
    LAUNCHED = "O"
    RUNNING = "R"
    DONE = "D"
    HALTED = "H"
    FAILED = "F"


class TaskStatus:
    REGISTERING = "G"
    QUEUED = "Q"
    INSTANTIATING = "I"
    LAUNCHED = "O"
    RUNNING = "R"
    DONE = "D"
    ERROR_RECOVERABLE = "E"
    ADJUSTING_RESOURCES = "A"
    ERROR_FATAL = "F"


class MaxConcurrentlyRunning:
    """Jobmon's "no limit" (MySQL INT max)."""

    MAXCONCURRENTLYRUNNING = 2_147_483_647


#: Tasks per bind request the API accepts (POST /bind/drafts/:id/tasks).
MAX_TASKS_PER_CHUNK = 5_000

#: Upstream entries after which a streamed chunk closes early: a chunk of fan-in tasks can carry
#: most of a DAG's edges, and the client's memory is a chunk's worth of them.
MAX_UPSTREAM_PER_CHUNK = 50_000
