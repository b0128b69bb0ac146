# Package-level documentation.

#' jobmonr: Jobmon on Temporal from R
#'
#' IHME's `jobmonr` interface (tool, task_template, task, array_tasks, workflow, add_tasks,
#' set_default_tool_resources, set_default_template_resources, run, resume, workflow_status,
#' workflow_tasks, task_status, get_errors) implemented in native R over the Jobmon on Temporal
#' HTTP API (httr2 + jsonlite; no Python or reticulate). A Jobmon R control script runs after
#' pointing it at the server: `Sys.setenv(JMT_API_URL = "http://host:8070")` (or Jobmon's
#' `JOBMON__HTTP__SERVICE_URL`).
#'
#' Differences from Jobmon that a script may notice: `run()` resumes by default; tasks run in the
#' directory the workflow was bound from unless their template sets `working_dir`; the resume
#' default is cold in every client and the CLI; resource keys a cluster type does not use are
#' reported at bind. See docs/converting.md in the repository.
#'
#' @keywords internal
"_PACKAGE"
