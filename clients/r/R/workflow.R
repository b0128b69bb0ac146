# Workflows: the tasks to run together, their defaults, and binding (sending the DAG to the
# server in chunks of <= 5,000 tasks). The control script's working directory is recorded at
# bind: tasks run there unless their template names another (Jobmon's behaviour).

#' Create a workflow
#'
#' @param tool A tool from [tool()].
#' @param workflow_args What identifies this workflow within its tool: binding the same
#'   `workflow_args` and tasks again finds the same workflow, and running it resumes.
#'   Default: a random value (the workflow can then be resumed only by id, with [resume()]).
#' @param workflow_attributes Named list of attributes (or a character vector of names).
#' @param name,description Shown by the CLI and GUI.
#' @param max_concurrently_running Limit on running tasks of the whole workflow.
#' @param default_cluster_name Cluster of tasks that name none; default the tool's.
#' @param default_compute_resources Resources of every task (overridden by template and task).
#' @param default_max_attempts Attempts per task unless a template or task says otherwise (3).
#' @param default_resource_scales Scaling after a resource error (see [task_template()]).
#' @param working_dir Directory tasks run in; default the working directory at bind.
#' @param ... Other Jobmon arguments (e.g. `chunk_size`); accepted and ignored.
#' @return A workflow object.
#' @examples
#' t <- tool("example", url = "http://127.0.0.1:8070")
#' wf <- workflow(t, workflow_args = "release-2026-11", max_concurrently_running = 100)
#' @export
workflow <- function(tool, workflow_args = "", workflow_attributes = list(), name = NULL, description = NULL,
                     max_concurrently_running = NULL, default_cluster_name = NULL,
                     default_compute_resources = NULL, default_max_attempts = NULL,
                     default_resource_scales = NULL, working_dir = NULL, ...) {
  stopifnot(inherits(tool, "jmt_tool"))
  wf <- new.env()
  wf$tool <- tool
  wf$generated_args <- is.null(workflow_args) || !nzchar(workflow_args)
  wf$workflow_args <- if (wf$generated_args) {
    paste(sprintf("%08x", sample.int(.Machine$integer.max, 4)), collapse = "-")
  } else {
    as.character(workflow_args)
  }
  wf$name <- name
  wf$description <- description
  attrs <- workflow_attributes
  if (is.character(attrs) && is.null(names(attrs))) attrs <- stats::setNames(as.list(rep("", length(attrs))), attrs)
  wf$attributes <- lapply(.jmt_named(attrs), as.character)
  wf$max_concurrently_running <- max_concurrently_running
  wf$default_cluster_name <- default_cluster_name
  wf$resources <- list()
  if (!is.null(default_compute_resources)) wf$resources[[default_cluster_name %||% ""]] <- default_compute_resources
  wf$default_resource_scales <- default_resource_scales
  wf$default_max_attempts <- default_max_attempts
  wf$working_dir <- working_dir
  wf$tasks <- list()
  wf$keys <- new.env(hash = TRUE)
  wf$template_limits <- list()
  wf$workflow_id <- NULL
  wf$newly_created <- NULL
  wf$ignored_resource_keys <- NULL
  class(wf) <- "jmt_workflow"
  wf
}

#' @export
print.jmt_workflow <- function(x, ...) {
  cat(sprintf("<workflow %s of tool %s: %d tasks%s>\n", x$workflow_args, x$tool$name, length(x$tasks),
              if (is.null(x$workflow_id)) "" else sprintf(", id %d", x$workflow_id)))
  invisible(x)
}

#' Default compute resources of a workflow
#'
#' @param workflow A workflow from [workflow()].
#' @param default_cluster_name Cluster the resources are for; also the workflow's default cluster.
#' @param resources Named list of resources.
#' @param path_to_yaml Jobmon resource YAML with a `tool_resources` section.
#' @return The workflow (changed in place).
#' @export
set_default_workflow_resources <- function(workflow, default_cluster_name, resources = NULL, path_to_yaml = NULL) {
  stopifnot(inherits(workflow, "jmt_workflow"))
  cluster <- .jmt_check_cluster(default_cluster_name)
  workflow$default_cluster_name <- cluster
  workflow$resources[[cluster]] <- .jmt_resources_from(resources, path_to_yaml, "tool_resources", cluster)
  invisible(workflow)
}

#' Add tasks to a workflow
#'
#' Adding the same task twice is a no-op; two different tasks of one template with the same node
#' args are refused (Jobmon's duplicate node args).
#'
#' @param workflow A workflow from [workflow()].
#' @param tasks A list of tasks (or one task).
#' @param task One task.
#' @param arrays A list of task lists, as [array_tasks()] returns them.
#' @return The workflow (changed in place).
#' @export
add_tasks <- function(workflow, tasks) {
  for (t in .jmt_task_list(tasks, "tasks")) add_task(workflow, t)
  invisible(workflow)
}

#' @rdname add_tasks
#' @export
add_task <- function(workflow, task) {
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

#' @rdname add_tasks
#' @export
add_arrays <- function(workflow, arrays) {
  for (a in arrays) add_tasks(workflow, a)
  invisible(workflow)
}

#' Limit the running tasks of one template
#'
#' Before bind the limit is bound with the workflow; afterwards it changes the running workflow.
#'
#' @param workflow A workflow.
#' @param task_template_name Template name.
#' @param limit Maximum running tasks (0 holds new submissions).
#' @return The workflow.
#' @export
set_task_template_max_concurrency_limit <- function(workflow, task_template_name, limit) {
  stopifnot(inherits(workflow, "jmt_workflow"))
  workflow$template_limits[[task_template_name]] <- as.integer(limit)
  if (!is.null(workflow$workflow_id)) {
    .jmt_request(workflow$tool$api, "PUT", sprintf("/workflows/%d/concurrency", workflow$workflow_id),
                 list(limit = as.integer(limit), template = task_template_name))
  }
  invisible(workflow)
}

#' Tasks of a workflow by node arg values
#'
#' @param workflow A workflow.
#' @param task_template_name Template name.
#' @param ... Node arg values to match (all given must match).
#' @return A list of tasks.
#' @export
get_tasks_by_node_args <- function(workflow, task_template_name, ...) {
  want <- lapply(list(...), function(v) .jmt_value(v, "node arg", "get_tasks_by_node_args"))
  Filter(function(t) {
    identical(t$template$name, task_template_name) &&
      all(vapply(names(want), function(k) identical(t$node_args[[k]], want[[k]]), logical(1)))
  }, workflow$tasks)
}

# Defaults for `cluster` from a per-cluster list ("" = given without a cluster).
.jmt_for_cluster <- function(per_cluster, cluster) {
  out <- per_cluster[[""]] %||% list()
  if (!is.null(cluster) && !is.null(per_cluster[[cluster]])) out <- utils::modifyList(out, per_cluster[[cluster]])
  if (length(out)) out else NULL
}

.jmt_templates_of <- function(wf) {
  templates <- list()
  for (task in wf$tasks) {
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
  templates
}

.jmt_template_spec <- function(tt, cluster, limit) {
  own <- tt$default_cluster_name
  list(name = tt$name, command_template = tt$command_template, node_args = I(tt$node_args),
       task_args = I(tt$task_args), op_args = I(tt$op_args), default_cluster_name = own,
       default_compute_resources = .jmt_for_cluster(tt$resources, own %||% cluster),
       default_resource_scales = tt$default_resource_scales, default_max_attempts = tt$default_max_attempts,
       max_concurrently_running = limit %||% tt$array_limit, working_dir = tt$working_dir)
}

.jmt_bind_request <- function(wf) {
  if (!length(wf$tasks)) .jmt_stop("the workflow has no tasks; add_tasks() before bind() or run()")
  templates <- .jmt_templates_of(wf)
  tool <- wf$tool
  cluster <- wf$default_cluster_name %||% tool$default_cluster_name
  if (is.null(cluster)) {
    named <- unique(unlist(lapply(templates, function(tt) tt$default_cluster_name)))
    if (length(named) == 1) cluster <- named
  }
  resources <- utils::modifyList(.jmt_for_cluster(tool$resources, cluster) %||% list(),
                                 .jmt_for_cluster(wf$resources, cluster) %||% list())
  draft <- list(
    tool = list(name = tool$name),
    workflow = list(
      workflow_args = wf$workflow_args, name = wf$name, description = wf$description,
      attributes = .jmt_named(wf$attributes), max_concurrently_running = wf$max_concurrently_running,
      default_cluster_name = cluster, default_compute_resources = if (length(resources)) resources else NULL,
      default_resource_scales = wf$default_resource_scales,
      default_max_attempts = wf$default_max_attempts %||% tool$default_max_attempts,
      working_dir = normalizePath(wf$working_dir %||% getwd(), mustWork = FALSE)),
    task_templates = unname(lapply(templates, function(tt) .jmt_template_spec(tt, cluster, wf$template_limits[[tt$name]]))))
  key_of <- function(task) {
    index <- wf$keys[[task$node_key]]
    if (is.null(index) || !identical(wf$tasks[[index]], task)) {
      .jmt_stop("a task depends on task ", task$name, ", which was not added to the workflow (add_tasks it too)")
    }
    as.character(index - 1L)
  }
  specs <- lapply(seq_along(wf$tasks), function(i) {
    task <- wf$tasks[[i]]
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

.jmt_say_ignored <- function(ignored, say) {
  for (cluster in names(ignored)) {
    say(sprintf("cluster %s does not use the resource key(s) %s; they are kept but have no effect",
                cluster, paste(unlist(ignored[[cluster]]), collapse = ", ")))
  }
}

#' Bind a workflow
#'
#' Sends the DAG to the server (validated as a whole; nothing is stored on a refusal) and returns
#' the workflow id. The same `workflow_args` and tasks bound again return the existing workflow.
#' [run()] binds when needed; call this to get the id (and task ids) without running.
#'
#' @param workflow A workflow.
#' @param chunk_size Tasks per request (at most 5,000).
#' @param progress Say which resource keys the workflow's clusters ignore.
#' @return The workflow id (invisibly). Each task's `$task_id` is set.
#' @export
bind <- function(workflow, chunk_size = JMT_MAX_TASKS_PER_CHUNK, progress = TRUE) {
  stopifnot(inherits(workflow, "jmt_workflow"))
  chunk_size <- min(as.integer(chunk_size), JMT_MAX_TASKS_PER_CHUNK)
  request <- .jmt_bind_request(workflow)
  api <- workflow$tool$api
  created <- .jmt_request(api, "POST", "/bind/drafts", request$draft)
  path <- paste0("/bind/drafts/", created$draft_id)
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
  workflow$ignored_resource_keys <- bound$ignored_resource_keys
  ids <- bound$task_ids
  for (i in seq_along(workflow$tasks)) {
    id <- ids[[as.character(i - 1L)]]
    if (!is.null(id)) workflow$tasks[[i]]$task_id <- as.numeric(id)
  }
  if (progress) .jmt_say_ignored(workflow$ignored_resource_keys, message)
  invisible(workflow$workflow_id)
}
