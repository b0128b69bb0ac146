# An R rendering, with jobmonr's functions, of Jobmon's six-job smoke test (dev/workflows/
# six_job_test.py): six tasks in four tiers, two of which fail once and succeed on their retry,
# resources from a YAML file with stdout/stderr log directories; then the status helpers.
#   Rscript six_job_test.R [cluster_name]      (default multiprocess)
library(jobmonr)

args <- commandArgs(trailingOnly = TRUE)
cluster_name <- if (length(args)) args[1] else "multiprocess"
resources_yaml <- "six_job_test_resources.yaml"

smoke_tool <- jobmonr::tool(name = paste("r six job smoke test -", cluster_name))
smoke_tool <- jobmonr::set_default_tool_resources(smoke_tool, cluster_name, path_to_yaml = resources_yaml)
phase <- function(name) {
  tt <- jobmonr::task_template(smoke_tool, name, "{command}", node_args = list("command"))
  jobmonr::set_default_template_resources(tt, cluster_name, path_to_yaml = resources_yaml)
}
templates <- lapply(setNames(nm = paste0("phase_", 1:4)), phase)

# Fails on its first attempt (leaving a marker), succeeds on the next.
markers <- file.path(tempdir(), paste0("r-six-job-", Sys.getpid(), "-", c("t2", "t3")))
fail_once <- function(marker, message) {
  sprintf("if [ -f %s ]; then rm -f %s; sleep 1; else touch %s; echo '%s' >&2; exit 1; fi", marker, marker, marker, message)
}

t1 <- jobmonr::task(templates$phase_1, name = "t1", command = "sleep 1")
t2 <- jobmonr::task(templates$phase_2, name = "t2", upstream_tasks = list(t1), max_attempts = 3,
                    command = fail_once(markers[1], "ERROR: data validation failed: NaN in column mortality_rate"))
t3 <- jobmonr::task(templates$phase_2, name = "t3", upstream_tasks = list(t1), max_attempts = 3,
                    command = fail_once(markers[2], "ERROR: MemoryError: cannot allocate 4.2 GiB"))
t4 <- jobmonr::task(templates$phase_3, name = "t4", upstream_tasks = list(t2, t3), command = "sleep 2")
t5 <- jobmonr::task(templates$phase_3, name = "t5", upstream_tasks = list(t2, t3), command = "sleep 1")
t6 <- jobmonr::task(templates$phase_4, name = "t6", upstream_tasks = list(t4, t5), command = "echo six jobs done")

wf <- jobmonr::workflow(smoke_tool, workflow_args = paste0("r-six-job-test-", Sys.getpid(), "-", as.integer(Sys.time())),
                        name = "r_six_job_test", workflow_attributes = list(kind = "smoke"))
wf <- jobmonr::add_tasks(wf, list(t1, t2, t3, t4, t5, t6))
status <- jobmonr::run(wf, seconds_until_timeout = 300)
cat(sprintf("workflow_id=%d status=%s\n", wf$workflow_id, status))
if (status != "D") stop("the workflow should end DONE, not ", status)

# The status helpers (Jobmon's `workflow status`, `workflow tasks`, `task status`, errors).
report <- jobmonr::workflow_status(wf)
stopifnot(report$buckets$DONE == 6, report$status == "D")
tasks <- jobmonr::workflow_tasks(wf)
stopifnot(nrow(tasks) == 6, all(tasks$status == "D"), setequal(tasks$key, as.character(0:5)))
stopifnot(identical(tasks$node_args[[which(tasks$name == "t6")]]$command, "echo six jobs done"))
attempts <- jobmonr::task_status(list(t2, t3))
stopifnot(nrow(attempts) == 4, sum(attempts$status == "D") == 2)
errors <- jobmonr::get_errors(wf)
stopifnot(length(errors) == 2)
# Logs went to the YAML's stdout/stderr directories, with Jobmon's <name>.o<id> / .e<id> names.
stopifnot(all(startsWith(attempts$stdout_path, file.path(getwd(), "logs", "stdout"))))
stopifnot(file.exists(attempts$stderr_path[attempts$status != "D"]))
cat("All good: six jobs DONE, two retried, logs in logs/stdout and logs/stderr\n")
