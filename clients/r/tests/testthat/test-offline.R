# Offline tests: everything the client decides before talking to a server (argument checks,
# create_tasks' cross product, the bind request built from tool, workflow, template and task
# defaults, YAML resources, conditions). The server-side behaviour is tested by tests/e2e.R and
# the Jobmon-shaped scripts in inst/examples, run by test/clients.test.ts against a real stack.

local_tool <- function(name = "offline") tool(name, url = "http://127.0.0.1:9")

test_that("task_template checks placeholders against the declared args", {
  t <- local_tool()
  expect_error(task_template(t, "a", "run {x} {y}", node_args = list("x")), "placeholder \\{y\\} is not declared")
  expect_error(task_template(t, "a", "run {x}", node_args = "x", op_args = "v"), "'v' does not appear")
  expect_error(task_template(t, "a", "run {x", node_args = "x"), "unbalanced brace")
  tt <- task_template(t, "a", "run {x} {{literal}}", node_args = list("x"))
  expect_s3_class(tt, "jmt_task_template")
})

test_that("task_template without a tool uses the tool created last (as Jobmon's example does)", {
  t <- local_tool("latest-tool")
  tt <- task_template(template_name = "noted", command_template = "echo {a}", node_args = c("a"))
  expect_identical(tt$tool, t)
})

test_that("task() refuses unknown and missing args and illegal names where they are written", {
  tt <- task_template(local_tool(), "m", "m --loc {loc} {v}", node_args = "loc", op_args = "v")
  expect_error(task(tt, loc = 1), "missing argument\\(s\\) v")
  expect_error(task(tt, loc = 1, v = "", extra = 2), "unknown argument\\(s\\) extra")
  expect_error(task(tt, name = "1st", loc = 1, v = ""), "must not start with a digit")
  expect_error(task(tt, loc = NA, v = ""), "is NA")
  t <- task(tt, loc = list(7L), v = "-v")
  expect_identical(t$name, "m_loc-7")
  expect_identical(t$node_args, list(loc = "7"))
})

test_that("array_tasks is the cross product of the node args, first one slowest", {
  tt <- task_template(local_tool(), "m", "m {loc} {sex} {out}", node_args = list("loc", "sex"), task_args = "out")
  tasks <- array_tasks(tt, loc = as.list(1:2), sex = c("male", "female"), out = "/o")
  expect_identical(vapply(tasks, function(t) t$name, ""),
                   c("m_loc-1_sex-male", "m_loc-1_sex-female", "m_loc-2_sex-male", "m_loc-2_sex-female"))
  expect_identical(tasks[[4]]$task_args, list(out = "/o"))
})

test_that("add_tasks refuses duplicate node args but accepts the same task twice", {
  tt <- task_template(local_tool(), "m", "m {loc}", node_args = "loc")
  wf <- workflow(local_tool(), "dups")
  a <- task(tt, loc = 1)
  add_tasks(wf, list(a, a))
  expect_length(wf$tasks, 1)
  expect_error(add_tasks(wf, list(task(tt, loc = 1))), "duplicate node args")
  expect_length(get_tasks_by_node_args(wf, "m", loc = 1), 1)
  expect_length(get_tasks_by_node_args(wf, "m", loc = 2), 0)
})

test_that("the bind request layers tool < workflow < template < task resources for the workflow's cluster", {
  t <- local_tool("layers")
  set_default_tool_resources(t, "multiprocess", list(queue = "null.q", memory = "1G", project = "p"))
  tt <- task_template(t, "m", "m {loc}", node_args = "loc")
  tt <- set_default_template_resources(tt, "multiprocess", list(memory = "2G"))
  wf <- workflow(t, "layers-1", max_concurrently_running = 5, working_dir = "/srv/run")
  set_default_workflow_resources(wf, "multiprocess", list(runtime = "10m"))
  add_tasks(wf, array_tasks(tt, loc = 1:2, compute_resources = list(cores = 2)))
  set_task_template_max_concurrency_limit(wf, "m", 1)
  req <- jobmonr:::.jmt_bind_request(wf)
  expect_identical(req$draft$workflow$default_cluster_name, "multiprocess")
  expect_identical(req$draft$workflow$default_compute_resources,
                   list(queue = "null.q", memory = "1G", project = "p", runtime = "10m"))
  expect_identical(req$draft$workflow$working_dir, "/srv/run")
  spec <- req$draft$task_templates[[1]]
  expect_identical(spec$default_compute_resources, list(memory = "2G"))
  expect_identical(spec$max_concurrently_running, 1L)
  expect_identical(req$specs[[2]]$compute_resources, list(cores = 2))
  expect_identical(req$specs[[2]]$key, "1")
})

test_that("the working directory defaults to the one at bind; a template may name its own", {
  t <- local_tool("wd")
  tt <- task_template(t, "m", "python m.py", working_dir = tempdir())
  wf <- workflow(t, "wd-1", default_cluster_name = "dummy", default_compute_resources = list(queue = "null.q"))
  add_tasks(wf, task(tt))
  req <- jobmonr:::.jmt_bind_request(wf)
  expect_identical(req$draft$workflow$working_dir, normalizePath(getwd()))
  expect_identical(req$draft$task_templates[[1]]$working_dir, normalizePath(tempdir()))
})

test_that("resources come from Jobmon's YAML sections", {
  skip_if_not_installed("yaml")
  path <- tempfile(fileext = ".yaml")
  writeLines(c("tool_resources:", "  multiprocess:", "    queue: null.q", "    memory: 1G",
               "task_template_resources:", "  m:", "    multiprocess:", "      cores: 2"), path)
  t <- set_default_tool_resources(local_tool(), "multiprocess", path_to_yaml = path)
  expect_identical(t$resources$multiprocess, list(queue = "null.q", memory = "1G"))
  tt <- set_default_template_resources(task_template(t, "m", "m"), "multiprocess", path_to_yaml = path)
  expect_identical(tt$resources$multiprocess, list(cores = 2L))
  expect_error(set_default_template_resources(task_template(t, "other", "o"), "multiprocess", path_to_yaml = path),
               "no task_template_resources for template 'other'")
  expect_error(set_default_tool_resources(t, "x", resources = list(queue = "q"), path_to_yaml = path), "not both")
})

test_that("run() and resume() say which resume they do; cold is the default", {
  expect_true(formals(run)$reset_running_jobs)
  expect_true(formals(resume)$reset_running_jobs)
  expect_match(jobmonr:::.jmt_mode_line(TRUE), "^cold resume")
  expect_match(jobmonr:::.jmt_mode_line(FALSE), "^hot resume")
})

test_that("an unreachable server is a jmt_unreachable condition naming the URL", {
  wf <- workflow(local_tool("nowhere"), "x", default_cluster_name = "dummy")
  add_tasks(wf, task(task_template(wf$tool, "t", "true")))
  err <- tryCatch(bind(wf), jmt_unreachable = function(e) e)
  expect_s3_class(err, "jmt_unreachable")
  expect_match(conditionMessage(err), "http://127.0.0.1:9", fixed = TRUE)
})

with_env <- function(vars, code) {
  old <- Sys.getenv(names(vars), unset = NA)
  on.exit(for (n in names(old)) if (is.na(old[[n]])) Sys.unsetenv(n) else do.call(Sys.setenv, as.list(old[n])))
  do.call(Sys.setenv, as.list(vars))
  force(code)
}

test_that("the server address comes from JMT_API_URL, else Jobmon's JOBMON__HTTP__SERVICE_URL", {
  with_env(c(JMT_API_URL = "", JOBMON__HTTP__SERVICE_URL = "http://jobmon.example:8070/api/v3"),
           expect_identical(tool("x")$api$url, "http://jobmon.example:8070"))
  with_env(c(JMT_API_URL = "http://127.0.0.1:1234/"), expect_identical(tool("x")$api$url, "http://127.0.0.1:1234"))
})

test_that("the jmt_* names are the jobmonr functions", {
  expect_identical(jmt_create_tasks, array_tasks)
  expect_identical(jmt_run, run)
  expect_identical(jmt_status, workflow_status)
})
