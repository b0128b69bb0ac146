# Running, resuming and reading a workflow. The run lives on the server (a Temporal workflow),
# not in this R session: interrupting R stops the watching only, and run() again attaches.
#
# Resume default (the same in the CLI, the API, Python and R): COLD - jobs an earlier run left
# running are stopped and their tasks run again; reset_running_jobs = FALSE (CLI --hot) is HOT,
# which lets them finish. run() and resume() say which in their first progress line.

# A workflow object or a bare workflow id (then `url` names the server).
.jmt_ref <- function(workflow, url = NULL) {
  if (inherits(workflow, "jmt_workflow")) {
    if (is.null(workflow$workflow_id)) .jmt_stop("the workflow is not bound yet; call bind() or run() first")
    return(list(api = workflow$tool$api, id = workflow$workflow_id))
  }
  if (is.numeric(workflow) && length(workflow) == 1 && !is.na(workflow) && workflow >= 1) {
    return(list(api = .jmt_api(url), id = as.integer(workflow)))
  }
  .jmt_stop("expected a workflow or a workflow id, got ", class(workflow)[1])
}

.jmt_mode_line <- function(reset_running_jobs) {
  if (reset_running_jobs) {
    "cold resume: jobs an earlier run left running are stopped and run again (reset_running_jobs = FALSE for hot)"
  } else {
    "hot resume: jobs an earlier run left running may finish (reset_running_jobs = TRUE for cold)"
  }
}

.jmt_progress <- function(report) {
  b <- report$buckets
  pct <- if (report$num_tasks > 0) floor(b$DONE * 100 / report$num_tasks) else 0
  sprintf("[wf %d] %d/%d done, %d running, %d failed (%d%%)", report$workflow_id, b$DONE,
          report$num_tasks, b$RUNNING + b$SCHEDULED, b$FATAL, pct)
}

# Start a run of workflow `id` (or attach to the active one). Returns the run id, NA when
# attaching, or "D" when every task is already DONE.
.jmt_start <- function(api, id, reset_running_jobs, fail_fast, keep_resources, say) {
  started <- tryCatch(
    .jmt_request(api, "POST", sprintf("/workflows/%d/runs", id),
                 list(resume_mode = if (reset_running_jobs) "cold" else "hot", fail_fast = isTRUE(fail_fast),
                      keep_resources = isTRUE(keep_resources))),
    jmt_api_error = function(e) {
      if (!identical(as.integer(e$status), 409L)) stop(e)
      if (identical(e$code, "workflow_done") || identical(e$code, "run_active")) return(e$code)
      stop(e)
    })
  if (identical(started, "workflow_done")) {
    say(sprintf("[wf %d] every task is already DONE", id))
    return("D")
  }
  if (identical(started, "run_active")) {
    say(sprintf("[wf %d] a run is already active; attaching to it", id))
    return(NA_integer_)
  }
  say(sprintf("[wf %d] run %d started (%s) - %s", id, as.integer(started$workflow_run_id),
              .jmt_mode_line(reset_running_jobs), started$temporal_ui_url))
  as.integer(started$workflow_run_id)
}

.jmt_watch <- function(api, id, run_id, seconds_until_timeout, poll_interval, say) {
  deadline <- Sys.time() + seconds_until_timeout
  previous <- ""
  repeat {
    report <- tryCatch(.jmt_request(api, "GET", sprintf("/workflows/%d/status", id)), jmt_unreachable = function(e) NULL)
    if (!is.null(report)) {
      line <- .jmt_progress(report)
      if (line != previous) say(line)
      previous <- line
      r <- report$run
      if (!is.null(r) && (is.na(run_id) || r$id >= run_id) && r$status %in% JMT_FINAL_RUN_STATUSES) {
        say(sprintf("[wf %d] run %d finished: %s %s", id, r$id, r$status, r$status_label))
        return(r$status)
      }
    }
    if (Sys.time() > deadline) {
      .jmt_stop(sprintf("workflow %d did not finish within %s s; it keeps running - follow it with `jmt workflow status %d`",
                        id, seconds_until_timeout, id))
    }
    Sys.sleep(poll_interval)
  }
}

#' Run a workflow
#'
#' Binds if needed, starts a run (or attaches to the active one) and watches it to the end.
#' Running the same script again resumes: DONE tasks are skipped, failed ones get a fresh attempt
#' budget.
#'
#' @param workflow A workflow from [workflow()].
#' @param resume `TRUE` (default here; Jobmon: `FALSE`) resumes an existing workflow with these
#'   `workflow_args` and tasks; `FALSE` stops with an error if it exists, as Jobmon does.
#' @param seconds_until_timeout How long to watch (the run itself goes on).
#' @param reset_running_jobs `TRUE` (default, cold resume): jobs an earlier run left running are
#'   stopped and run again; `FALSE` (hot) lets them finish.
#' @param fail_fast Stop scheduling new tasks after the first task fails for good.
#' @param poll_interval Seconds between progress checks.
#' @param progress Print progress messages.
#' @param ... Other Jobmon arguments (`distributor_startup_timeout`, `resume_timeout`); ignored.
#' @return The run's final status letter: `"D"` every task DONE, `"E"` tasks failed, `"S"` stopped.
#' @export
run <- function(workflow, resume = TRUE, seconds_until_timeout = 36000, reset_running_jobs = TRUE,
                fail_fast = FALSE, poll_interval = 1, progress = TRUE, ...) {
  stopifnot(inherits(workflow, "jmt_workflow"))
  say <- function(...) if (progress) message(...)
  if (is.null(workflow$workflow_id)) bind(workflow, progress = progress)
  id <- workflow$workflow_id
  api <- workflow$tool$api
  if (!isTRUE(resume) && identical(workflow$newly_created, FALSE)) {
    .jmt_stop("workflow ", id, " already exists for these workflow_args and tasks (Jobmon: WorkflowAlreadyExists); ",
              "run(wf, resume = TRUE) to resume it")
  }
  if (isTRUE(workflow$generated_args)) {
    say(sprintf("[wf %d] workflow_args not given, generated %s; resume with resume(%d)", id, workflow$workflow_args, id))
  }
  run_id <- .jmt_start(api, id, reset_running_jobs, fail_fast, FALSE, say)
  if (identical(run_id, "D")) return("D")
  .jmt_watch(api, id, run_id, seconds_until_timeout, poll_interval, say)
}

#' Resume a workflow by id
#'
#' Jobmon's `jobmon workflow resume -w ID` from R: a new run of a bound workflow, without its
#' control script. Tasks whose last attempt died of a resource error get scaled resources first
#' unless `keep_resources`.
#'
#' @param workflow A workflow object or a workflow id.
#' @param reset_running_jobs `TRUE` (default, cold) or `FALSE` (hot); see [run()].
#' @param keep_resources Do not scale the resources of tasks that died of a resource error.
#' @param seconds_until_timeout,poll_interval,progress As in [run()].
#' @param wait Watch the run to its end (`TRUE`) or return once it started.
#' @param url Server address when `workflow` is an id.
#' @param cluster_name Accepted for Jobmon scripts (the cluster is bound with the workflow).
#' @return With `wait`, the final status letter; else the run id (`NA` when one was active).
#' @export
resume <- function(workflow, reset_running_jobs = TRUE, keep_resources = FALSE, seconds_until_timeout = 36000,
                   wait = TRUE, poll_interval = 1, progress = TRUE, url = NULL, cluster_name = NULL) {
  ref <- .jmt_ref(workflow, url)
  say <- function(...) if (progress) message(...)
  run_id <- .jmt_start(ref$api, ref$id, reset_running_jobs, FALSE, keep_resources, say)
  if (identical(run_id, "D")) return("D")
  if (!wait) return(run_id)
  .jmt_watch(ref$api, ref$id, run_id, seconds_until_timeout, poll_interval, say)
}

#' Workflow status
#'
#' Counts per task status letter and per Jobmon bucket (PENDING, SCHEDULED, RUNNING, DONE,
#' FATAL), per template, and the current run (`jmt workflow status`).
#'
#' @param workflow A workflow object or a workflow id.
#' @param url Server address when `workflow` is an id.
#' @return A list (see docs/api-contract.md, `GET /workflows/{id}/status`).
#' @export
workflow_status <- function(workflow, url = NULL) {
  ref <- .jmt_ref(workflow, url)
  .jmt_request(ref$api, "GET", sprintf("/workflows/%d/status", ref$id))
}

.jmt_col <- function(rows, field, type) {
  vapply(rows, function(r) {
    v <- r[[field]]
    if (is.null(v)) v <- NA
    storage.mode(v) <- typeof(type)
    v
  }, type)
}

#' Tasks of a workflow
#'
#' @param workflow A workflow object or a workflow id.
#' @param status Status letters to keep, e.g. `c("F", "E")`; default all.
#' @param template Template name to keep.
#' @param limit At most this many tasks.
#' @param url Server address when `workflow` is an id.
#' @return A data frame: id, key, name, template, status, num_attempts, max_attempts and
#'   `node_args` (a list column).
#' @export
workflow_tasks <- function(workflow, status = NULL, template = NULL, limit = 10000L, url = NULL) {
  ref <- .jmt_ref(workflow, url)
  body <- .jmt_request(ref$api, "GET", sprintf("/workflows/%d/tasks", ref$id),
                       query = list(status = if (is.null(status)) NULL else paste(status, collapse = ","),
                                    template = template, limit = limit))
  rows <- body$tasks
  out <- data.frame(
    id = .jmt_col(rows, "id", 0), key = .jmt_col(rows, "key", ""), name = .jmt_col(rows, "name", ""),
    template = .jmt_col(rows, "template", ""), status = .jmt_col(rows, "status", ""),
    num_attempts = .jmt_col(rows, "num_attempts", 0L), max_attempts = .jmt_col(rows, "max_attempts", 0L),
    stringsAsFactors = FALSE)
  out$node_args <- lapply(rows, function(r) r$node_args %||% list())
  out
}

#' Attempts of tasks
#'
#' Every instance (attempt) of each task: status, node, exit code, wall time, memory, log paths
#' and errors (`jmt task status`).
#'
#' @param task_ids Task ids (or task objects of a bound workflow).
#' @param url Server address.
#' @return A data frame, one row per attempt.
#' @export
task_status <- function(task_ids, url = NULL) {
  api <- .jmt_api(url)
  if (inherits(task_ids, "jmt_task")) task_ids <- list(task_ids)
  ids <- vapply(as.list(task_ids), function(t) {
    if (inherits(t, "jmt_task")) {
      if (is.null(t$task_id)) .jmt_stop("task ", t$name, " is not bound yet")
      api <<- t$template$tool$api
      return(as.numeric(t$task_id))
    }
    as.numeric(t)
  }, 0)
  rows <- list()
  for (id in ids) {
    body <- .jmt_request(api, "GET", sprintf("/tasks/%.0f", id))
    for (i in body$instances) {
      errs <- vapply(i$errors, function(e) e$description, "")
      rows[[length(rows) + 1]] <- data.frame(
        task_id = id, task_name = body$task$name, task_instance_id = as.numeric(i$id), status = i$status,
        nodename = i$nodename %||% NA_character_, exit_code = as.integer(i$exit_code %||% NA_integer_),
        wallclock_s = as.numeric(i$wallclock_s %||% NA_real_), maxrss_bytes = as.numeric(i$maxrss_bytes %||% NA_real_),
        stdout_path = i$stdout_path %||% NA_character_, stderr_path = i$stderr_path %||% NA_character_,
        error = if (length(errs)) errs[length(errs)] else NA_character_, stringsAsFactors = FALSE)
    }
  }
  if (length(rows)) do.call(rbind, rows) else data.frame()
}

#' Errors of a workflow's failed attempts
#'
#' @param workflow A workflow object or a workflow id.
#' @param limit At most this many errors, newest first.
#' @param url Server address when `workflow` is an id.
#' @return A list of errors (task_instance_id, task_id, task_name, error_time, description).
#' @export
get_errors <- function(workflow, limit = 1000L, url = NULL) {
  ref <- .jmt_ref(workflow, url)
  .jmt_request(ref$api, "GET", sprintf("/workflows/%d/errors", ref$id), query = list(limit = limit))$errors
}

#' Help on a jobmonr object
#'
#' @param object One of `"tool"`, `"task_template"`, `"task"`, `"workflow"`, `"run"`.
#' @return The help page (invisibly).
#' @export
jobmon_help <- function(object = "workflow") {
  topic <- match.arg(object, c("tool", "task_template", "task", "array_tasks", "workflow", "run", "resume"))
  print(utils::help(topic, package = "jobmonr"))
}
