# Resuming, with jobmonr's functions: a workflow whose last task fails until its input exists.
# 1. Rebuilt with the same workflow_args and tasks, run(resume = TRUE) resumes it (Jobmon's
#    "Resuming a Failed Workflow" pattern); DONE tasks are not run again.
# 2. resume(<workflow id>) resumes a workflow by id without its control script (Jobmon's
#    `jobmon workflow resume -w <id>`). The resume is cold unless reset_running_jobs = FALSE.
library(jobmonr)

suffix <- paste0(Sys.getpid(), "-", as.integer(Sys.time()))
dir.create("inputs", showWarnings = FALSE)
unlink(c("inputs/ready_1.txt", "inputs/ready_2.txt"))

build <- function(attempt_tag) {
  resume_tool <- jobmonr::tool("r_resume_example")
  resume_tool <- jobmonr::set_default_tool_resources(resume_tool, "multiprocess", list(queue = "null.q"))
  part <- jobmonr::task_template(resume_tool, "part", "echo part {part_id}", node_args = list("part_id"))
  gather <- jobmonr::task_template(resume_tool, "gather", "test -f inputs/ready_{round}.txt", task_args = list("round"))
  wf <- jobmonr::workflow(resume_tool, workflow_args = paste0("r-resume-", attempt_tag, "-", suffix), default_max_attempts = 1)
  parts <- jobmonr::array_tasks(part, part_id = 1:3)
  wf <- jobmonr::add_tasks(wf, parts)
  wf <- jobmonr::add_tasks(wf, list(jobmonr::task(gather, name = "gather", upstream_tasks = parts, round = attempt_tag)))
  wf
}

# 1. resume by running the same script again
first <- build(1)
stopifnot(jobmonr::run(first, resume = FALSE, seconds_until_timeout = 300) == "E")
writeLines("ok", "inputs/ready_1.txt")
again <- build(1)
status <- jobmonr::run(again, resume = TRUE, seconds_until_timeout = 300)
stopifnot(status == "D", again$workflow_id == first$workflow_id)
done <- jobmonr::workflow_tasks(again)
stopifnot(all(done$num_attempts[done$template == "part"] == 1))

# 2. resume by id
second <- build(2)
stopifnot(jobmonr::run(second, seconds_until_timeout = 300) == "E")
failed <- jobmonr::workflow_tasks(second$workflow_id, status = "F")
stopifnot(identical(failed$name, "gather"))
writeLines("ok", "inputs/ready_2.txt")
status <- jobmonr::resume(second$workflow_id, seconds_until_timeout = 300)
cat(sprintf("resumed workflows %d and %d: %s\n", first$workflow_id, second$workflow_id, status))
if (status != "D") stop("the resumed workflow should end DONE, not ", status)
