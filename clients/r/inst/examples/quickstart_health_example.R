# Twin of Jobmon's docsource/quickstart_health_example.R (a jobmonr script): a fork-join workflow -
# one data-preparation task, one task per location, one summary that waits for all of them.
# Changed from the Jobmon script (site edits only, no API edits): the cluster (slurm -> multiprocess,
# two lines) and queue (all.q -> null.q, two lines), the data directory (one line) and the three
# task scripts' paths (now relative to this script's directory). `project` and `constraints` are
# kept: bind reports that the multiprocess cluster does not use them. The interpreter still comes
# from RETICULATE_PYTHON; the server address from JMT_API_URL (or JOBMON__HTTP__SERVICE_URL).
library(jobmonr)

# Configuration
data_root <- file.path(getwd(), "quickstart_data")
set_id <- as.integer(5)
locations <- as.list(seq(from = 0, to = set_id))

# A tool with default compute resources
health_tool <- jobmonr::tool(name = "r_quickstart_health_tool")
health_tool <- jobmonr::set_default_tool_resources(
    tool = health_tool,
    default_cluster_name = "multiprocess",
    resources = list(
        cores = 1L,
        queue = "null.q",
        runtime = "2m",
        memory = "1G",
        project = "proj_health"
    )
)

# The workflow
wf <- jobmonr::workflow(
    tool = health_tool,
    workflow_args = paste0("r_quickstart_health_", Sys.Date())
)

# Templates: preparation, one location, summary
prep_template <- jobmonr::task_template(
    tool = health_tool,
    template_name = "r_quickstart_prep",
    command_template = paste(
        "{python_exec}",
        "quickstart_tasks/data_prep.py",
        "--location_set_id {location_set_id}",
        "--root_data_dir {root_data_dir}",
        "--log_level {log_level}",
        sep = " "
    ),
    task_args = list("location_set_id", "root_data_dir"),
    op_args = list("python_exec", "log_level")
)
prep_template <- jobmonr::set_default_template_resources(
    task_template = prep_template,
    default_cluster_name = "multiprocess",
    resources = list(
        queue = "null.q",
        constraints = "archive"
    )
)
location_template <- jobmonr::task_template(
    tool = health_tool,
    template_name = "r_quickstart_location",
    command_template = paste(
        "{python_exec}",
        "quickstart_tasks/one_location.py",
        "--location_id {location_id}",
        "--root_data_dir {root_data_dir}",
        "--log_level {log_level}",
        sep = " "
    ),
    node_args = list("location_id"),
    task_args = list("root_data_dir"),
    op_args = list("python_exec", "log_level")
)
summary_template <- jobmonr::task_template(
    tool = health_tool,
    template_name = "r_quickstart_summary",
    command_template = paste(
        "{python_exec}",
        "quickstart_tasks/summarization.py",
        "--root_data_dir {root_data_dir}",
        "--log_level {log_level}",
        sep = " "
    ),
    task_args = list("root_data_dir"),
    op_args = list("python_exec", "log_level")
)

# Tasks
prep_task <- jobmonr::task(
    task_template = prep_template,
    name = "r_quickstart_prep_task",
    root_data_dir = data_root,
    location_set_id = set_id,
    python_exec = Sys.getenv("RETICULATE_PYTHON"),
    log_level = "DEBUG"
)
wf <- jobmonr::add_tasks(wf, list(prep_task))

location_tasks <- jobmonr::array_tasks(
    task_template = location_template,
    upstream_tasks = list(prep_task),
    location_id = locations,
    root_data_dir = data_root,
    python_exec = Sys.getenv("RETICULATE_PYTHON"),
    log_level = "DEBUG"
)
wf <- jobmonr::add_tasks(wf, location_tasks)

summary_task <- jobmonr::task(
    task_template = summary_template,
    name = "r_quickstart_summary_task",
    upstream_tasks = location_tasks,
    root_data_dir = data_root,
    python_exec = Sys.getenv("RETICULATE_PYTHON"),
    log_level = "DEBUG"
)
wf <- jobmonr::add_tasks(wf, list(summary_task))

# Run
status <- jobmonr::run(
    workflow = wf,
    resume = FALSE,
    seconds_until_timeout = 7200
)

if (status == "D") {
    cat("Workflow completed successfully!\n")
} else {
    stop(paste("Workflow failed with status:", status))
}
