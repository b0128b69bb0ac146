# Tools and task templates, with jobmonr's names and arguments. Objects are environments
# (reference semantics, as the Python objects behind jobmonr are), so the jobmonr habit of
# `x <- set_default_...(x, ...)` and the plain call `set_default_...(x, ...)` both work.

.jmt_state <- new.env(parent = emptyenv())

#' Create a tool
#'
#' A tool groups the task templates and workflows of one application (Jobmon's `Tool`). The
#' server versions a tool by its task templates' definitions, so there is nothing to create
#' until a workflow is bound.
#'
#' @param name Name of the tool, e.g. `"codem"`.
#' @param active_tool_version_id Only `"latest"` is supported (accepted for jobmonr scripts).
#' @param url Server address; default `JMT_API_URL`, else Jobmon's `JOBMON__HTTP__SERVICE_URL`,
#'   else `http://127.0.0.1:8070`.
#' @param token API token; default `JMT_TOKEN`.
#' @return A tool object.
#' @examples
#' my_tool <- tool(name = "my_analysis", url = "http://127.0.0.1:8070")
#' @export
tool <- function(name = "unknown", active_tool_version_id = "latest", url = NULL, token = Sys.getenv("JMT_TOKEN")) {
  if (!is.character(name) || length(name) != 1 || !nzchar(trimws(name))) .jmt_stop("a tool needs a non-empty name")
  if (!identical(active_tool_version_id, "latest") && !is.null(active_tool_version_id)) {
    .jmt_stop("only active_tool_version_id = \"latest\" is supported by Jobmon on Temporal")
  }
  t <- new.env()
  t$name <- name
  t$api <- .jmt_api(url, token)
  t$default_cluster_name <- NULL
  t$resources <- list()
  t$default_max_attempts <- NULL
  class(t) <- "jmt_tool"
  .jmt_state$last_tool <- t
  t
}

#' @export
print.jmt_tool <- function(x, ...) {
  cat(sprintf("<tool %s at %s>\n", x$name, x$api$url))
  invisible(x)
}

# Jobmon's resource YAML: `tool_resources: {cluster: {...}}` and
# `task_template_resources: {template: {cluster: {...}}}`.
.jmt_read_yaml <- function(path) {
  if (!requireNamespace("yaml", quietly = TRUE)) {
    .jmt_stop("reading resources from ", path, " needs the yaml package (Debian: r-cran-yaml); ",
              "or pass resources = list(...)")
  }
  if (!file.exists(path)) .jmt_stop("resource file ", path, " does not exist")
  yaml::read_yaml(path)
}

.jmt_resources_from <- function(resources, path_to_yaml, section, cluster, template = NULL) {
  if (!is.null(resources) && !is.null(path_to_yaml)) .jmt_stop("give resources or path_to_yaml, not both")
  if (is.null(path_to_yaml)) {
    if (!is.null(resources) && (!is.list(resources) || is.null(names(resources)) || any(!nzchar(names(resources))))) {
      .jmt_stop("resources must be a named list, e.g. list(queue = \"all.q\", memory = \"2G\")")
    }
    return(resources %||% list())
  }
  loaded <- .jmt_read_yaml(path_to_yaml)[[section]]
  if (!is.null(template)) loaded <- loaded[[template]]
  found <- loaded[[cluster]]
  if (is.null(found)) {
    .jmt_stop(path_to_yaml, ": no ", section, if (is.null(template)) "" else paste0(" for template '", template, "'"),
              " on cluster '", cluster, "'")
  }
  found
}

.jmt_check_cluster <- function(name) {
  if (!is.character(name) || length(name) != 1 || !nzchar(name)) .jmt_stop("default_cluster_name must be a cluster name")
  name
}

#' Default compute resources of a tool
#'
#' Resources every workflow of this tool starts from, for one cluster; workflow, template and
#' task resources override them key by key. Keys: `queue`, `cores`, `memory` (`"8G"`),
#' `runtime` (`"2h"`, seconds), `stdout`/`stderr` (log directories) and the cluster type's own
#' (see [clusters()]); keys a cluster type does not use are reported when the workflow is bound.
#'
#' @param tool A tool from [tool()].
#' @param default_cluster_name Cluster the resources are for; also the tool's default cluster.
#' @param resources Named list of resources.
#' @param path_to_yaml Jobmon resource YAML with a `tool_resources` section (instead of `resources`).
#' @return The tool (changed in place).
#' @examples
#' t <- tool("example", url = "http://127.0.0.1:8070")
#' t <- set_default_tool_resources(t, "multiprocess", list(queue = "null.q", memory = "1G"))
#' @export
set_default_tool_resources <- function(tool, default_cluster_name, resources = NULL, path_to_yaml = NULL) {
  stopifnot(inherits(tool, "jmt_tool"))
  cluster <- .jmt_check_cluster(default_cluster_name)
  tool$default_cluster_name <- cluster
  tool$resources[[cluster]] <- .jmt_resources_from(resources, path_to_yaml, "tool_resources", cluster)
  invisible(tool)
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

.jmt_arg_names <- function(x, what, which) {
  x <- unlist(x, use.names = FALSE)
  if (is.null(x)) return(character())
  if (!is.character(x)) .jmt_stop(what, ": ", which, " must be names (a character vector or a list of strings)")
  x
}

#' Create a task template
#'
#' A command with placeholders: `node_args` are what the template is parallelised over,
#' `task_args` identify the data a run works on, `op_args` (interpreter, verbosity) may change
#' between runs without changing the tasks' identity.
#'
#' @param tool A tool from [tool()]; when omitted, the tool created last in this session.
#' @param template_name Name of the template within the tool.
#' @param command_template Command with `{arg}` placeholders (`{{`/`}}` for literal braces).
#' @param node_args,task_args,op_args Arg names (character vectors or lists of strings).
#' @param default_cluster_name,default_compute_resources Defaults for tasks of this template
#'   (also settable with [set_default_template_resources()]).
#' @param default_resource_scales Named list: per resource, a factor (`0.5` = +50 \%) or a vector
#'   of absolute values per attempt, used after a resource error.
#' @param default_max_attempts Attempts per task of this template.
#' @param working_dir Directory the tasks' commands run in. Default: the directory the workflow
#'   is bound from (the control script's working directory, as in Jobmon).
#' @return A task template object.
#' @examples
#' t <- tool("example", url = "http://127.0.0.1:8070")
#' tt <- task_template(t, "model", "Rscript model.R --loc {location_id} --v {version}",
#'                     node_args = list("location_id"), task_args = list("version"))
#' @export
task_template <- function(tool = NULL, template_name, command_template, node_args = list(),
                          task_args = list(), op_args = list(), default_cluster_name = NULL,
                          default_compute_resources = NULL, default_resource_scales = NULL,
                          default_max_attempts = NULL, working_dir = NULL) {
  tool <- tool %||% .jmt_state$last_tool
  if (is.null(tool)) .jmt_stop("task_template needs a tool: call tool() first or pass tool =")
  stopifnot(inherits(tool, "jmt_tool"))
  what <- sprintf("task template '%s'", template_name)
  if (!is.character(command_template) || length(command_template) != 1 || !nzchar(command_template)) {
    .jmt_stop(what, ": command_template must be a non-empty string")
  }
  node_args <- .jmt_arg_names(node_args, what, "node_args")
  task_args <- .jmt_arg_names(task_args, what, "task_args")
  op_args <- .jmt_arg_names(op_args, what, "op_args")
  declared <- c(node_args, task_args, op_args)
  if (anyDuplicated(declared)) .jmt_stop(what, ": arg '", declared[anyDuplicated(declared)], "' is declared twice")
  used <- .jmt_placeholders(command_template, what)
  missing <- setdiff(used, declared)
  if (length(missing)) .jmt_stop(what, ": placeholder {", missing[1], "} is not declared in node_args, task_args or op_args")
  unused <- setdiff(declared, used)
  if (length(unused)) .jmt_stop(what, ": arg '", unused[1], "' does not appear in command_template as {", unused[1], "}")
  if (!is.null(working_dir) && (!is.character(working_dir) || length(working_dir) != 1 || !nzchar(working_dir))) {
    .jmt_stop(what, ": working_dir must be a directory path")
  }
  tt <- new.env()
  tt$tool <- tool
  tt$name <- template_name
  tt$command_template <- command_template
  tt$node_args <- node_args
  tt$task_args <- task_args
  tt$op_args <- op_args
  tt$default_cluster_name <- default_cluster_name
  tt$resources <- list()
  if (!is.null(default_compute_resources)) tt$resources[[default_cluster_name %||% ""]] <- default_compute_resources
  tt$default_resource_scales <- default_resource_scales
  tt$default_max_attempts <- default_max_attempts
  tt$working_dir <- if (is.null(working_dir)) NULL else normalizePath(working_dir, mustWork = FALSE)
  class(tt) <- "jmt_task_template"
  tt
}

#' @export
print.jmt_task_template <- function(x, ...) {
  cat(sprintf("<task template %s: %s>\n", x$name, x$command_template))
  invisible(x)
}

#' Default compute resources of a task template
#'
#' Resources for tasks of this template on one cluster; they override the tool's and the
#' workflow's key by key, and a task's own `compute_resources` override them.
#'
#' @param task_template A template from [task_template()].
#' @param default_cluster_name Cluster the resources are for; also the template's default cluster.
#' @param resources Named list of resources.
#' @param path_to_yaml Jobmon resource YAML with a `task_template_resources` section.
#' @return The task template (changed in place).
#' @export
set_default_template_resources <- function(task_template, default_cluster_name, resources = NULL, path_to_yaml = NULL) {
  stopifnot(inherits(task_template, "jmt_task_template"))
  cluster <- .jmt_check_cluster(default_cluster_name)
  task_template$default_cluster_name <- cluster
  task_template$resources[[cluster]] <-
    .jmt_resources_from(resources, path_to_yaml, "task_template_resources", cluster, task_template$name)
  invisible(task_template)
}
