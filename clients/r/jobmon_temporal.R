# Jobmon on Temporal: an R client over the project's HTTP API (docs/api-contract.md).
#
#   source("clients/r/jobmon_temporal.R")
#   tool  <- jmt_tool("burden")
#   model <- jmt_task_template(tool, "model", "Rscript model.R --loc {loc}", node_args = "loc",
#                              default_cluster_name = "multiprocess",
#                              default_compute_resources = list(queue = "null.q"))
#   wf <- jmt_create_workflow(tool, workflow_args = "burden-2026-11")
#   jmt_add_tasks(wf, jmt_create_tasks(model, loc = 1:3))
#   status <- jmt_run(wf)   # "D" when every task is DONE
#
# Needs Debian's r-cran-httr2 and r-cran-jsonlite (scripts/setup-r.sh). Server address from
# JMT_API_URL (or JOBMON__HTTP__SERVICE_URL), token from JMT_TOKEN. API refusals are conditions of
# class "jmt_api_error" with $code, $field and $status; an unreachable API is "jmt_unreachable"
# naming the URL. Tools, templates, tasks and workflows are environments (reference semantics), so
# jmt_add_task(wf, task) changes wf in place, as in Jobmon's Python client.

suppressPackageStartupMessages({
  library(httr2)
  library(jsonlite)
})

JMT_MAX_TASKS_PER_CHUNK <- 5000L
JMT_FINAL_RUN_STATUSES <- c("D", "S", "E", "T", "A")

# --- conditions --------------------------------------------------------------------------------

jmt_api_error <- function(message, code, status = NA_integer_, field = NULL) {
  where <- if (!is.null(field)) sprintf(" (field %s)", field) else ""
  structure(
    class = c("jmt_api_error", "jmt_error", "error", "condition"),
    list(message = sprintf("%s%s [HTTP %s, code %s]", message, where, status, code),
         api_message = message, code = code, status = status, field = field, call = NULL))
}

jmt_unreachable <- function(url, detail) {
  structure(
    class = c("jmt_unreachable", "jmt_error", "error", "condition"),
    list(message = sprintf(paste0("cannot reach the jobmon-temporal API at %s: %s. Start it (`jmt up`) ",
                                  "or point JMT_API_URL at a running one."), url, detail),
         url = url, code = "unreachable", call = NULL))
}

.jmt_stop <- function(...) stop(simpleError(paste0(...)))

# --- HTTP ----------------------------------------------------------------------------------------

.jmt_base_url <- function(url) {
  if (is.null(url) || !nzchar(url)) {
    url <- Sys.getenv("JMT_API_URL", Sys.getenv("JOBMON__HTTP__SERVICE_URL", "http://127.0.0.1:8070"))
  }
  url <- sub("/+$", "", url)
  url <- sub("/api/v1$", "", url)
  if (!grepl("^https?://[^/]+", url)) .jmt_stop("API URL '", url, "' is not an http(s) URL; set JMT_API_URL")
  url
}

# JSON by hand so that arrays stay arrays (I()) and empty named lists become {}.
.jmt_json <- function(x) as.character(toJSON(x, auto_unbox = TRUE, null = "null", digits = NA))

.jmt_request <- function(api, method, path, body = NULL, query = NULL, timeout = 300) {
  url <- paste0(api$url, "/api/v1", path)
  req <- request(url)
  req <- req_method(req, method)
  req <- req_headers(req, accept = "application/json")
  if (nzchar(api$token)) req <- req_headers(req, Authorization = paste("Bearer", api$token))
  if (!is.null(query)) req <- do.call(req_url_query, c(list(req), Filter(Negate(is.null), query)))
  if (!is.null(body)) req <- req_body_raw(req, .jmt_json(body), type = "application/json")
  req <- req_timeout(req, timeout)
  req <- req_error(req, is_error = function(resp) FALSE)
  resp <- tryCatch(req_perform(req), error = function(e) {
    msg <- conditionMessage(e)
    detail <- if (grepl("refused|Failed to connect|Couldn't connect", msg, ignore.case = TRUE)) {
      "connection refused"
    } else if (grepl("resolve", msg, ignore.case = TRUE)) {
      "host not found"
    } else if (grepl("timed? ?out", msg, ignore.case = TRUE)) {
      sprintf("no answer within %s s", timeout)
    } else {
      msg
    }
    stop(jmt_unreachable(api$url, detail))
  })
  status <- resp_status(resp)
  text <- resp_body_string(resp, encoding = "UTF-8")
  parsed <- if (nzchar(text)) tryCatch(fromJSON(text, simplifyVector = FALSE), error = function(e) NULL) else NULL
  if (status >= 400) {
    err <- if (is.list(parsed)) parsed$error else NULL
    if (is.list(err)) {
      stop(jmt_api_error(if (is.null(err$message)) sprintf("HTTP %d", status) else err$message,
                         if (is.null(err$code)) sprintf("http_%d", status) else err$code,
                         status, err$field))
    }
    first <- substr(strsplit(trimws(text), "\n", fixed = TRUE)[[1]][1], 1, 200)
    stop(jmt_api_error(sprintf("%s %s failed with HTTP %d%s", method, path, status,
                               if (is.na(first) || !nzchar(first)) "" else paste0(": ", first)),
                       sprintf("http_%d", status), status))
  }
  if (nzchar(text) && is.null(parsed)) {
    stop(jmt_api_error(sprintf("the API at %s answered %s %s with something that is not JSON",
                               api$url, method, path), "bad_response", status))
  }
  parsed
}

# --- Tool and task templates ----------------------------------------------------------------------

jmt_tool <- function(name, url = NULL, token = Sys.getenv("JMT_TOKEN")) {
  if (!is.character(name) || length(name) != 1 || !nzchar(trimws(name))) .jmt_stop("a tool needs a non-empty name")
  tool <- new.env()
  tool$name <- name
  tool$api <- list(url = .jmt_base_url(url), token = token)
  class(tool) <- "jmt_tool"
  tool
}

.jmt_placeholders <- function(command, what) {
  stripped <- gsub("\\{\\{|\\}\\}", "", command)
  found <- regmatches(stripped, gregexpr("\\{[^{}]*\\}", stripped))[[1]]
  names <- unique(substr(found, 2, nchar(found) - 1))
  bad <- names[!grepl("^[A-Za-z_][A-Za-z0-9_]*$", names)]
  if (length(bad)) .jmt_stop(what, ": placeholder {", bad[1], "} is not a plain arg name")
  rest <- gsub("\\{[^{}]*\\}", "", stripped)
  if (grepl("[{}]", rest)) .jmt_stop(what, ": unbalanced brace in command_template; write {{ or }} for a literal brace")
  names
}

jmt_task_template <- function(tool, template_name, command_template, node_args = character(),
                              task_args = character(), op_args = character(),
                              default_cluster_name = NULL, default_compute_resources = NULL,
                              default_resource_scales = NULL, default_max_attempts = NULL) {
  stopifnot(inherits(tool, "jmt_tool"))
  what <- sprintf("task template '%s'", template_name)
  if (!is.character(command_template) || length(command_template) != 1 || !nzchar(command_template)) {
    .jmt_stop(what, ": command_template must be a non-empty string")
  }
  declared <- c(node_args, task_args, op_args)
  if (anyDuplicated(declared)) .jmt_stop(what, ": arg '", declared[anyDuplicated(declared)], "' is declared twice")
  used <- .jmt_placeholders(command_template, what)
  missing <- setdiff(used, declared)
  if (length(missing)) .jmt_stop(what, ": placeholder {", missing[1], "} is not declared in node_args, task_args or op_args")
  unused <- setdiff(declared, used)
  if (length(unused)) .jmt_stop(what, ": arg '", unused[1], "' does not appear in command_template as {", unused[1], "}")
  tt <- new.env()
  tt$tool <- tool
  tt$name <- template_name
  tt$command_template <- command_template
  tt$node_args <- as.character(node_args)
  tt$task_args <- as.character(task_args)
  tt$op_args <- as.character(op_args)
  tt$default_cluster_name <- default_cluster_name
  tt$default_compute_resources <- default_compute_resources
  tt$default_resource_scales <- default_resource_scales
  tt$default_max_attempts <- default_max_attempts
  class(tt) <- "jmt_task_template"
  tt
}

# --- tasks -------------------------------------------------------------------------------------------

.jmt_named <- function(x) if (length(x) == 0) setNames(list(), character()) else x

.jmt_value <- function(value, arg, where) {
  if (is.null(value) || length(value) != 1 || is.list(value)) {
    .jmt_stop(where, ": arg '", arg, "' must be a single value (string or number)")
  }
  if (is.na(value)) .jmt_stop(where, ": arg '", arg, "' is NA")
  if (is.numeric(value)) format(value, scientific = FALSE, trim = TRUE) else as.character(value)
}

.jmt_check_args <- function(tt, given, where) {
  declared <- c(tt$node_args, tt$task_args, tt$op_args)
  unknown <- setdiff(given, declared)
  missing <- setdiff(declared, given)
  if (length(unknown) || length(missing)) {
    .jmt_stop(where, ": ",
              if (length(unknown)) paste0("unknown argument(s) ", paste(unknown, collapse = ", "), "; ") else "",
              if (length(missing)) paste0("missing argument(s) ", paste(missing, collapse = ", "), "; ") else "",
              "the template's args are ", paste(declared, collapse = ", "))
  }
}

.jmt_check_name <- function(name) {
  if (!is.character(name) || length(name) != 1 || !nzchar(name)) .jmt_stop("task name must be a non-empty string")
  if (grepl("^[0-9]", name)) .jmt_stop("task name '", name, "' must not start with a digit")
  if (grepl("[/\\\\'\" ]", name)) .jmt_stop("task name '", name, "' contains an illegal character (/ \\ ' \" or space)")
  name
}

.jmt_new_task <- function(tt, values, name, upstream_tasks, task_attributes, max_attempts,
                          compute_resources, resource_scales, cluster_name, fallback_queues) {
  task <- new.env()
  task$template <- tt
  task$node_args <- .jmt_named(values[tt$node_args])
  task$task_args <- .jmt_named(values[tt$task_args])
  task$op_args <- .jmt_named(values[tt$op_args])
  task$name <- if (is.null(name)) {
    parts <- if (length(tt$node_args)) paste0(tt$node_args, "-", unlist(values[tt$node_args])) else character()
    substr(gsub("[/\\\\'\" ]", "_", paste(c(tt$name, parts), collapse = "_")), 1, 249)
  } else {
    .jmt_check_name(name)
  }
  task$user_name <- name
  task$upstream <- list()
  task$attributes <- lapply(.jmt_named(task_attributes), as.character)
  task$max_attempts <- max_attempts
  task$compute_resources <- compute_resources
  task$resource_scales <- resource_scales
  task$cluster_name <- cluster_name
  task$fallback_queues <- fallback_queues
  task$node_key <- paste0(tt$name, "\r", paste(names(task$node_args), unlist(task$node_args), sep = "=", collapse = "\r"))
  class(task) <- "jmt_task"
  for (up in upstream_tasks) jmt_add_upstream(task, up)
  task
}

jmt_add_upstream <- function(task, upstream) {
  stopifnot(inherits(task, "jmt_task"), inherits(upstream, "jmt_task"))
  if (identical(task, upstream)) .jmt_stop("task ", task$name, " cannot be its own upstream")
  if (!any(vapply(task$upstream, identical, logical(1), upstream))) task$upstream[[length(task$upstream) + 1]] <- upstream
  invisible(task)
}

jmt_add_attribute <- function(task, name, value = "") {
  task$attributes[[name]] <- as.character(value)
  invisible(task)
}

jmt_create_task <- function(task_template, ..., name = NULL, upstream_tasks = list(),
                            task_attributes = list(), max_attempts = NULL, compute_resources = NULL,
                            resource_scales = NULL, cluster_name = NULL, fallback_queues = NULL) {
  stopifnot(inherits(task_template, "jmt_task_template"))
  args <- list(...)
  where <- sprintf("jmt_create_task for template '%s'", task_template$name)
  .jmt_check_args(task_template, names(args), where)
  values <- Map(function(v, a) .jmt_value(v, a, where), args, names(args))
  .jmt_new_task(task_template, values, name, upstream_tasks, task_attributes, max_attempts,
                compute_resources, resource_scales, cluster_name, fallback_queues)
}

# Jobmon's create_tasks: one task per combination of the node args given as vectors (first declared
# node arg varying slowest); task and op args take one value each.
jmt_create_tasks <- function(task_template, ..., upstream_tasks = list(), task_attributes = list(),
                             max_attempts = NULL, compute_resources = NULL, resource_scales = NULL,
                             cluster_name = NULL, fallback_queues = NULL) {
  stopifnot(inherits(task_template, "jmt_task_template"))
  args <- list(...)
  tt <- task_template
  where <- sprintf("jmt_create_tasks for template '%s'", tt$name)
  .jmt_check_args(tt, names(args), where)
  fixed <- Map(function(v, a) .jmt_value(v, a, where), args[c(tt$task_args, tt$op_args)], c(tt$task_args, tt$op_args))
  axes <- lapply(tt$node_args, function(a) vapply(as.list(args[[a]]), .jmt_value, "", a, where))
  names(axes) <- tt$node_args
  grid <- if (length(axes)) rev(expand.grid(rev(axes), stringsAsFactors = FALSE)) else data.frame(row.names = 1)
  lapply(seq_len(nrow(grid)), function(i) {
    values <- c(as.list(grid[i, , drop = FALSE]), fixed)
    .jmt_new_task(tt, values, NULL, upstream_tasks, task_attributes, max_attempts,
                  compute_resources, resource_scales, cluster_name, fallback_queues)
  })
}

# --- workflows --------------------------------------------------------------------------------------

jmt_create_workflow <- function(tool, workflow_args = NULL, name = NULL, description = NULL,
                                workflow_attributes = list(), max_concurrently_running = NULL,
                                default_cluster_name = NULL, default_compute_resources = NULL,
                                default_resource_scales = NULL, default_max_attempts = NULL) {
  stopifnot(inherits(tool, "jmt_tool"))
  wf <- new.env()
  wf$tool <- tool
  wf$generated_args <- is.null(workflow_args) || !nzchar(workflow_args)
  wf$workflow_args <- if (wf$generated_args) {
    paste(sprintf("%08x", sample.int(.Machine$integer.max, 4)), collapse = "-")
  } else {
    workflow_args
  }
  wf$name <- name
  wf$description <- description
  wf$attributes <- lapply(.jmt_named(workflow_attributes), as.character)
  wf$max_concurrently_running <- max_concurrently_running
  wf$default_cluster_name <- default_cluster_name
  wf$default_compute_resources <- default_compute_resources
  wf$default_resource_scales <- default_resource_scales
  wf$default_max_attempts <- default_max_attempts
  wf$tasks <- list()
  wf$keys <- new.env(hash = TRUE)
  wf$template_limits <- list()
  wf$workflow_id <- NULL
  wf$newly_created <- NULL
  class(wf) <- "jmt_workflow"
  wf
}

jmt_add_task <- function(workflow, task) {
  stopifnot(inherits(workflow, "jmt_workflow"), inherits(task, "jmt_task"))
  existing <- workflow$keys[[task$node_key]]
  if (!is.null(existing)) {
    if (identical(workflow$tasks[[existing]], task)) return(invisible(workflow))
    .jmt_stop("workflow already has a task of template '", task$template$name, "' with node args ",
              .jmt_json(task$node_args), " (Jobmon: duplicate node args)")
  }
  workflow$tasks[[length(workflow$tasks) + 1]] <- task
  assign(task$node_key, length(workflow$tasks), envir = workflow$keys)
  invisible(workflow)
}

jmt_add_tasks <- function(workflow, tasks) {
  for (task in tasks) jmt_add_task(workflow, task)
  invisible(workflow)
}

jmt_set_task_template_max_concurrency_limit <- function(workflow, task_template_name, limit) {
  workflow$template_limits[[task_template_name]] <- as.integer(limit)
  if (!is.null(workflow$workflow_id)) {
    .jmt_request(workflow$tool$api, "PUT", sprintf("/workflows/%d/concurrency", workflow$workflow_id),
                 list(limit = as.integer(limit), template = task_template_name))
  }
  invisible(workflow)
}

.jmt_or_null <- function(x) if (is.null(x) || length(x) == 0) NULL else x

.jmt_bind_request <- function(wf) {
  tasks <- wf$tasks
  if (!length(tasks)) .jmt_stop("the workflow has no tasks; jmt_add_task(s) before jmt_bind or jmt_run")
  templates <- list()
  for (task in tasks) {
    tt <- task$template
    seen <- templates[[tt$name]]
    if (!is.null(seen) && !identical(seen, tt) &&
        !identical(list(seen$command_template, seen$node_args, seen$task_args, seen$op_args),
                   list(tt$command_template, tt$node_args, tt$task_args, tt$op_args))) {
      .jmt_stop("two different definitions of task template '", tt$name, "' are used in this workflow")
    }
    templates[[tt$name]] <- tt
  }
  for (name in names(wf$template_limits)) {
    if (is.null(templates[[name]])) .jmt_stop("no task of template '", name, "' is in this workflow")
  }
  draft <- list(
    tool = list(name = wf$tool$name),
    workflow = list(
      workflow_args = wf$workflow_args, name = wf$name, description = wf$description,
      attributes = .jmt_named(wf$attributes), max_concurrently_running = wf$max_concurrently_running,
      default_cluster_name = wf$default_cluster_name,
      default_compute_resources = wf$default_compute_resources,
      default_resource_scales = wf$default_resource_scales,
      default_max_attempts = wf$default_max_attempts),
    task_templates = unname(lapply(templates, function(tt) list(
      name = tt$name, command_template = tt$command_template, node_args = I(tt$node_args),
      task_args = I(tt$task_args), op_args = I(tt$op_args),
      default_cluster_name = tt$default_cluster_name,
      default_compute_resources = tt$default_compute_resources,
      default_resource_scales = tt$default_resource_scales,
      default_max_attempts = tt$default_max_attempts,
      max_concurrently_running = wf$template_limits[[tt$name]]))))
  key_of <- function(task) {
    index <- wf$keys[[task$node_key]]
    if (is.null(index) || !identical(wf$tasks[[index]], task)) {
      .jmt_stop("a task depends on task ", task$name, ", which was not added to the workflow (jmt_add_task it too)")
    }
    as.character(index - 1L)
  }
  specs <- lapply(seq_along(tasks), function(i) {
    task <- tasks[[i]]
    spec <- list(key = as.character(i - 1L), template = task$template$name,
                 node_args = task$node_args, task_args = task$task_args, op_args = task$op_args,
                 upstream = I(vapply(task$upstream, key_of, "")), attributes = .jmt_named(task$attributes))
    spec$name <- task$user_name
    spec$max_attempts <- task$max_attempts
    spec$compute_resources <- task$compute_resources
    spec$resource_scales <- task$resource_scales
    spec$cluster_name <- task$cluster_name
    if (length(task$fallback_queues)) spec$fallback_queues <- I(task$fallback_queues)
    spec
  })
  list(draft = draft, specs = specs)
}

jmt_bind <- function(workflow, chunk_size = JMT_MAX_TASKS_PER_CHUNK) {
  stopifnot(inherits(workflow, "jmt_workflow"))
  chunk_size <- min(as.integer(chunk_size), JMT_MAX_TASKS_PER_CHUNK)
  request <- .jmt_bind_request(workflow)
  api <- workflow$tool$api
  draft <- .jmt_request(api, "POST", "/bind/drafts", request$draft)
  path <- paste0("/bind/drafts/", draft$draft_id)
  n <- length(request$specs)
  name_task <- function(e) {
    m <- regmatches(e$field, regexec("^tasks\\[([0-9]+)\\]", e$field))[[1]]
    if (length(m) == 2 && as.integer(m[2]) < n) {
      e <- jmt_api_error(sprintf("task %s: %s", workflow$tasks[[as.integer(m[2]) + 1L]]$name, e$api_message),
                         e$code, e$status, e$field)
    }
    stop(e)
  }
  bound <- tryCatch({
    for (start in seq(1L, n, by = chunk_size)) {
      .jmt_request(api, "POST", paste0(path, "/tasks"), list(tasks = request$specs[start:min(n, start + chunk_size - 1L)]))
    }
    .jmt_request(api, "POST", paste0(path, "/commit"))
  }, jmt_api_error = function(e) if (is.null(e$field)) stop(e) else name_task(e))
  workflow$workflow_id <- as.integer(bound$workflow_id)
  workflow$newly_created <- isTRUE(bound$newly_created)
  invisible(workflow$workflow_id)
}

jmt_status <- function(workflow) {
  if (is.null(workflow$workflow_id)) .jmt_stop("the workflow is not bound yet; call jmt_bind or jmt_run first")
  .jmt_request(workflow$tool$api, "GET", sprintf("/workflows/%d/status", workflow$workflow_id))
}

jmt_tasks <- function(workflow, status = NULL, template = NULL, limit = 10000L) {
  if (is.null(workflow$workflow_id)) .jmt_stop("the workflow is not bound yet; call jmt_bind or jmt_run first")
  body <- .jmt_request(workflow$tool$api, "GET", sprintf("/workflows/%d/tasks", workflow$workflow_id),
                       query = list(status = if (is.null(status)) NULL else paste(status, collapse = ","),
                                    template = template, limit = limit))
  rows <- body$tasks
  data.frame(
    id = vapply(rows, function(r) as.integer(r$id), 0L),
    name = vapply(rows, function(r) r$name, ""),
    template = vapply(rows, function(r) r$template, ""),
    status = vapply(rows, function(r) r$status, ""),
    num_attempts = vapply(rows, function(r) as.integer(r$num_attempts), 0L),
    max_attempts = vapply(rows, function(r) as.integer(r$max_attempts), 0L),
    stringsAsFactors = FALSE)
}

jmt_errors <- function(workflow, limit = 1000L) {
  body <- .jmt_request(workflow$tool$api, "GET", sprintf("/workflows/%d/errors", workflow$workflow_id),
                       query = list(limit = limit))
  body$errors
}

.jmt_progress <- function(report) {
  b <- report$buckets
  pct <- if (report$num_tasks > 0) floor(b$DONE * 100 / report$num_tasks) else 0
  sprintf("[wf %d] %d/%d done, %d running, %d failed (%d%%)", report$workflow_id, b$DONE,
          report$num_tasks, b$RUNNING + b$SCHEDULED, b$FATAL, pct)
}

# Bind if needed, start a run (or attach to the active one) and watch it to the end. Returns the
# run's final status letter: "D" every task DONE, "E" tasks failed, "S" stopped, "T", "A".
# The run lives in Temporal, not in this R session: interrupting R stops the watching only.
jmt_run <- function(workflow, resume = TRUE, seconds_until_timeout = 36000, reset_running_jobs = TRUE,
                    fail_fast = FALSE, poll_interval = 1, progress = TRUE) {
  stopifnot(inherits(workflow, "jmt_workflow"))
  say <- function(...) if (progress) message(...)
  if (is.null(workflow$workflow_id)) jmt_bind(workflow)
  id <- workflow$workflow_id
  api <- workflow$tool$api
  if (!resume && identical(workflow$newly_created, FALSE)) {
    .jmt_stop("workflow ", id, " already exists for these workflow_args and tasks; jmt_run(resume = TRUE) to resume it")
  }
  run_id <- NULL
  started <- tryCatch(
    .jmt_request(api, "POST", sprintf("/workflows/%d/runs", id),
                 list(resume_mode = if (reset_running_jobs) "cold" else "hot", fail_fast = fail_fast)),
    jmt_api_error = function(e) {
      if (!identical(e$status, 409L) && !identical(as.integer(e$status), 409L)) stop(e)
      if (identical(e$code, "workflow_done") || identical(e$code, "run_active")) return(e$code)
      stop(e)
    })
  if (identical(started, "workflow_done")) {
    say(sprintf("[wf %d] every task is already DONE", id))
    return("D")
  } else if (identical(started, "run_active")) {
    say(sprintf("[wf %d] a run is already active; attaching to it", id))
  } else {
    run_id <- as.integer(started$workflow_run_id)
    say(sprintf("[wf %d] run %d started - %s", id, run_id, started$temporal_ui_url))
  }
  deadline <- Sys.time() + seconds_until_timeout
  previous <- ""
  repeat {
    report <- tryCatch(jmt_status(workflow), jmt_unreachable = function(e) NULL)
    if (!is.null(report)) {
      line <- .jmt_progress(report)
      if (line != previous) say(line)
      previous <- line
      run <- report$run
      if (!is.null(run) && (is.null(run_id) || run$id >= run_id) && run$status %in% JMT_FINAL_RUN_STATUSES) {
        say(sprintf("[wf %d] run %d finished: %s %s", id, run$id, run$status, run$status_label))
        return(run$status)
      }
    }
    if (Sys.time() > deadline) {
      .jmt_stop(sprintf("workflow %d did not finish within %s s; it keeps running in Temporal - follow it with `jmt workflow status %d`",
                        id, seconds_until_timeout, id))
    }
    Sys.sleep(poll_interval)
  }
}
