# The names of the earlier sourced module (clients/r/jobmon_temporal.R), kept so scripts written
# against it keep working. Each is the jobmonr-named function itself, not a wrapper.

#' Earlier names of the client's functions
#'
#' `jmt_tool` is [tool()], `jmt_task_template` [task_template()], `jmt_create_task` [task()],
#' `jmt_create_tasks` [array_tasks()], `jmt_create_workflow` [workflow()], `jmt_add_task(s)`
#' [add_tasks()], `jmt_add_upstream` [add_upstream()], `jmt_add_attribute` [add_attribute()],
#' `jmt_set_task_template_max_concurrency_limit` [set_task_template_max_concurrency_limit()],
#' `jmt_bind` [bind()], `jmt_run` [run()], `jmt_resume` [resume()], `jmt_status`
#' [workflow_status()], `jmt_tasks` [workflow_tasks()], `jmt_errors` [get_errors()].
#'
#' @name jmt_aliases
#' @aliases jmt_tool jmt_task_template jmt_create_task jmt_create_tasks jmt_create_workflow
#'   jmt_add_task jmt_add_tasks jmt_add_upstream jmt_add_attribute
#'   jmt_set_task_template_max_concurrency_limit jmt_bind jmt_run jmt_resume jmt_status jmt_tasks
#'   jmt_errors
#' @usage NULL
#' @format NULL
#' @keywords internal
NULL

#' @export
jmt_tool <- tool
#' @export
jmt_task_template <- task_template
#' @export
jmt_create_task <- task
#' @export
jmt_create_tasks <- array_tasks
#' @export
jmt_create_workflow <- workflow
#' @export
jmt_add_task <- add_task
#' @export
jmt_add_tasks <- add_tasks
#' @export
jmt_add_upstream <- add_upstream
#' @export
jmt_add_attribute <- add_attribute
#' @export
jmt_set_task_template_max_concurrency_limit <- set_task_template_max_concurrency_limit
#' @export
jmt_bind <- bind
#' @export
jmt_run <- run
#' @export
jmt_resume <- resume
#' @export
jmt_status <- workflow_status
#' @export
jmt_tasks <- workflow_tasks
#' @export
jmt_errors <- get_errors
