# Tasks: one command of a template with its arg values, dependencies, resources and attributes.
# Checked where they are written (unknown or missing args, illegal names), so a mistake stops the
# script at the line that made it rather than at bind.

.jmt_value <- function(value, arg, where) {
  if (is.list(value) && length(value) == 1) value <- value[[1]]
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

.jmt_task_list <- function(x, what) {
  if (inherits(x, "jmt_task")) return(list(x))
  if (is.null(x)) return(list())
  if (!is.list(x) || !all(vapply(x, inherits, logical(1), "jmt_task"))) .jmt_stop(what, " must be a list of tasks")
  x
}

.jmt_new_task <- function(tt, values, name, opts) {
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
  task$attributes <- lapply(.jmt_named(opts$task_attributes), as.character)
  task$max_attempts <- opts$max_attempts
  task$compute_resources <- opts$compute_resources
  task$resource_scales <- opts$resource_scales
  task$cluster_name <- if (is.null(opts$cluster_name) || !nzchar(opts$cluster_name)) NULL else opts$cluster_name
  task$fallback_queues <- unlist(opts$fallback_queues)
  task$node_key <- paste0(tt$name, "\r", paste(names(task$node_args), unlist(task$node_args), sep = "=", collapse = "\r"))
  task$task_id <- NULL
  class(task) <- "jmt_task"
  for (up in .jmt_task_list(opts$upstream_tasks, "upstream_tasks")) add_upstream(task, up)
  task
}

#' @export
print.jmt_task <- function(x, ...) {
  cat(sprintf("<task %s (template %s)%s>\n", x$name, x$template$name,
              if (is.null(x$task_id)) "" else sprintf(", id %s", x$task_id)))
  invisible(x)
}

#' Make a task depend on another
#'
#' @param task The downstream task.
#' @param upstream The task that must be DONE first.
#' @return The task (changed in place).
#' @export
add_upstream <- function(task, upstream) {
  stopifnot(inherits(task, "jmt_task"), inherits(upstream, "jmt_task"))
  if (identical(task, upstream)) .jmt_stop("task ", task$name, " cannot be its own upstream")
  if (!any(vapply(task$upstream, identical, logical(1), upstream))) task$upstream[[length(task$upstream) + 1]] <- upstream
  invisible(task)
}

#' Set an attribute of a task
#'
#' @param task A task.
#' @param name Attribute name.
#' @param value Attribute value (stored as a string).
#' @return The task (changed in place).
#' @export
add_attribute <- function(task, name, value = "") {
  task$attributes[[name]] <- as.character(value)
  invisible(task)
}

#' Create one task from a template
#'
#' @param task_template A template from [task_template()].
#' @param name Task name; default Jobmon's `<template>_<arg>-<value>_...` from the node args.
#' @param compute_resources Named list overriding the template's resources key by key.
#' @param upstream_tasks Tasks this task waits for.
#' @param task_attributes Named list of attributes (or a character vector of names).
#' @param max_attempts Attempts before the task fails for good; default the workflow's (3).
#' @param cluster_name Cluster of this task; default the template's or the workflow's.
#' @param resource_scales Scaling after a resource error (see [task_template()]).
#' @param fallback_queues Queues to move to when a scaled request outgrows the queue.
#' @param ... A value for each of the template's node, task and op args.
#' @return A task object.
#' @examples
#' t <- tool("example", url = "http://127.0.0.1:8070")
#' tt <- task_template(t, "echo", "echo {word}", node_args = list("word"))
#' hello <- task(tt, name = "hello", word = "hello")
#' @export
task <- function(task_template, name = NULL, compute_resources = NULL, upstream_tasks = list(),
                 task_attributes = list(), max_attempts = NULL, cluster_name = NULL,
                 resource_scales = NULL, fallback_queues = NULL, ...) {
  stopifnot(inherits(task_template, "jmt_task_template"))
  args <- list(...)
  where <- sprintf("task() for template '%s'", task_template$name)
  .jmt_check_args(task_template, names(args), where)
  values <- Map(function(v, a) .jmt_value(v, a, where), args, names(args))
  .jmt_new_task(task_template, values, name, list(
    upstream_tasks = upstream_tasks, task_attributes = task_attributes, max_attempts = max_attempts,
    compute_resources = compute_resources, resource_scales = resource_scales,
    cluster_name = cluster_name, fallback_queues = fallback_queues))
}

#' Create many tasks from a template at once
#'
#' One task per combination of the node args given as vectors or lists (Jobmon's
#' `create_tasks`: the first declared node arg varies slowest); task and op args take one value.
#'
#' @inheritParams task
#' @param max_concurrently_running Limit on running tasks of this template in the workflow.
#' @return A list of task objects.
#' @examples
#' t <- tool("example", url = "http://127.0.0.1:8070")
#' tt <- task_template(t, "model", "model --loc {loc} --sex {sex}", node_args = list("loc", "sex"))
#' length(array_tasks(tt, loc = 1:3, sex = list("male", "female")))   # 6
#' @export
array_tasks <- function(task_template, upstream_tasks = list(), max_attempts = NULL, compute_resources = NULL,
                        cluster_name = NULL, task_attributes = list(), resource_scales = NULL,
                        fallback_queues = NULL, max_concurrently_running = NULL, ...) {
  stopifnot(inherits(task_template, "jmt_task_template"))
  args <- list(...)
  tt <- task_template
  where <- sprintf("array_tasks() for template '%s'", tt$name)
  .jmt_check_args(tt, names(args), where)
  single <- c(tt$task_args, tt$op_args)
  fixed <- Map(function(v, a) .jmt_value(v, a, where), args[single], single)
  axes <- lapply(tt$node_args, function(a) vapply(as.list(args[[a]]), .jmt_value, "", a, where))
  names(axes) <- tt$node_args
  grid <- if (length(axes)) rev(expand.grid(rev(axes), stringsAsFactors = FALSE)) else data.frame(row.names = 1)
  if (!is.null(max_concurrently_running)) tt$array_limit <- as.integer(max_concurrently_running)
  opts <- list(upstream_tasks = upstream_tasks, task_attributes = task_attributes, max_attempts = max_attempts,
               compute_resources = compute_resources, resource_scales = resource_scales,
               cluster_name = cluster_name, fallback_queues = fallback_queues)
  lapply(seq_len(nrow(grid)), function(i) .jmt_new_task(tt, c(as.list(grid[i, , drop = FALSE]), fixed), NULL, opts))
}
