# End to end for the R client against a real API (JMT_API_URL): a multi-stage DAG to DONE, a failure
# then a resume that skips DONE tasks, and clear errors. Run by test/clients.test.ts:
#   Rscript clients/r/tests/e2e.R
# Exit status 0 when every check passed.

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
suppressPackageStartupMessages(library(jobmonr))   # R CMD INSTALL clients/r

if (!nzchar(Sys.getenv("JMT_API_URL"))) stop("JMT_API_URL is not set: no API to test against")
checks <- 0L
check <- function(ok, what) {
  if (!isTRUE(ok)) stop("FAILED: ", what, call. = FALSE)
  checks <<- checks + 1L
  cat("ok -", what, "\n")
}
suffix <- paste(sample(c(letters, 0:9), 10, replace = TRUE), collapse = "")
scratch <- tempfile("jmt-r-")
dir.create(scratch)
on.exit(unlink(scratch, recursive = TRUE), add = TRUE)

# --- 1. a three-stage DAG of real commands on multiprocess ------------------------------------------
tool <- jmt_tool(paste0("r-dag-", suffix))
prep <- jmt_task_template(tool, "prep", "echo prepared > {dir}/prep.txt", task_args = "dir")
model <- jmt_task_template(tool, "model", "cat {dir}/prep.txt > {dir}/m-{loc}-{sex}.txt && echo {loc} {verbose}",
                           node_args = c("loc", "sex"), task_args = "dir", op_args = "verbose",
                           default_cluster_name = "multiprocess",
                           default_compute_resources = list(queue = "null.q", cores = 1))
agg <- jmt_task_template(tool, "agg", "cat {dir}/m-*.txt | wc -l > {dir}/count.txt", task_args = "dir")
wf <- jmt_create_workflow(tool, workflow_args = paste0("r-dag-", suffix), name = "r dag",
                          workflow_attributes = list(language = "R"), max_concurrently_running = 4,
                          default_cluster_name = "multiprocess",
                          default_compute_resources = list(queue = "null.q"))
p <- jmt_create_task(prep, dir = scratch)
models <- jmt_create_tasks(model, loc = 1:3, sex = c("m", "f"), dir = scratch, verbose = "-v",
                           upstream_tasks = list(p))
check(identical(vapply(models, function(t) t$name, ""),
                c("model_loc-1_sex-m", "model_loc-1_sex-f", "model_loc-2_sex-m", "model_loc-2_sex-f",
                  "model_loc-3_sex-m", "model_loc-3_sex-f")), "create_tasks is the cross product, first arg slowest")
a <- jmt_create_task(agg, dir = scratch, upstream_tasks = models, name = "count_models")
jmt_add_attribute(a, "stage", "final")
jmt_add_tasks(wf, c(list(p), models, list(a)))
jmt_set_task_template_max_concurrency_limit(wf, "model", 2)
status <- jmt_run(wf, seconds_until_timeout = 120)
check(identical(status, "D"), "the DAG runs to DONE")
check(trimws(readLines(file.path(scratch, "count.txt"))) == "6", "the last stage saw all six model outputs")
report <- jmt_status(wf)
check(report$num_tasks == 8 && report$buckets$DONE == 8, "status reports 8 of 8 tasks DONE")
limits <- setNames(vapply(report$templates, function(t) t$max_concurrently_running, 0),
                   vapply(report$templates, function(t) t$name, ""))
check(limits[["model"]] == 2, "the template's concurrency limit was bound")
tasks <- jmt_tasks(wf)
check(nrow(tasks) == 8 && "count_models" %in% tasks$name && all(tasks$status == "D"), "jmt_tasks lists the tasks")

# --- 2. a failing task, then a resume ----------------------------------------------------------------
marker <- file.path(scratch, "fixed")
build <- function() {
  tool <- jmt_tool(paste0("r-resume-", suffix))
  ok <- jmt_task_template(tool, "ok", "echo ok {i}", node_args = "i")
  flaky <- jmt_task_template(tool, "flaky", paste("test -f", marker))
  wf <- jmt_create_workflow(tool, workflow_args = paste0("r-resume-", suffix), default_cluster_name = "multiprocess",
                            default_compute_resources = list(queue = "null.q"), default_max_attempts = 2)
  oks <- jmt_create_tasks(ok, i = 1:3)
  jmt_add_tasks(wf, c(oks, list(jmt_create_task(flaky, upstream_tasks = oks))))
  wf
}
first <- build()
check(identical(jmt_run(first, seconds_until_timeout = 120, progress = FALSE), "E"), "a task failing twice ends the run in E")
counts <- jmt_status(first)$counts
check(counts$D == 3 && counts$F == 1, "three tasks DONE, one failed for good")
check(length(jmt_errors(first)) == 2, "both failed attempts are in the error log")
invisible(file.create(marker))
second <- build()
check(identical(jmt_run(second, seconds_until_timeout = 120, progress = FALSE), "D"), "the resumed run ends DONE")
check(second$workflow_id == first$workflow_id && identical(second$newly_created, FALSE), "the resume reused the same workflow")
attempts <- jmt_tasks(second)
check(all(attempts$num_attempts[attempts$template == "ok"] == 1), "DONE tasks were not run again")

# --- 3. clear errors -----------------------------------------------------------------------------------
bad <- jmt_create_workflow(tool, workflow_args = paste0("r-bad-", suffix), default_cluster_name = "multiprocess")
jmt_add_tasks(bad, jmt_create_tasks(model, loc = 1, sex = "m", dir = scratch, verbose = "",
                                    compute_resources = list(queue = "no_such.q")))
err <- tryCatch({ jmt_bind(bad); NULL }, jmt_api_error = function(e) e)
check(inherits(err, "jmt_api_error"), "an invalid queue is a jmt_api_error")
check(identical(err$field, "tasks[0].compute_resources.queue") && err$status == 422 && identical(err$code, "unknown_queue"),
      "the error names the field, status and code")
check(grepl("task model_loc-1_sex-m", conditionMessage(err)) && !grepl("[{]", conditionMessage(err)),
      "the message names the task and is not a raw dump")
err <- tryCatch(jmt_create_task(model, loc = 1, sex = "m", dir = scratch), error = function(e) e)
check(grepl("missing argument\\(s\\) verbose", conditionMessage(err)), "a missing arg is refused where it is written")
nowhere <- jmt_tool("r-nowhere", url = "http://127.0.0.1:9")
wf9 <- jmt_create_workflow(nowhere, workflow_args = "x", default_cluster_name = "dummy")
jmt_add_tasks(wf9, jmt_create_tasks(jmt_task_template(nowhere, "t", "true")))
err <- tryCatch(jmt_bind(wf9), jmt_unreachable = function(e) e)
check(inherits(err, "jmt_unreachable") && grepl("http://127.0.0.1:9", conditionMessage(err)), "an unreachable API names its URL")

cat(sprintf("all %d checks passed\n", checks))
