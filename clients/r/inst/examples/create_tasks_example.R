# Twin of Jobmon's docsource/create_tasks_example.R (a jobmonr script): one template, three tasks
# made with array_tasks, run to the end. The command's relative path (model_script.py) is found
# in the directory this script runs from, as under Jobmon.
# Changed from the Jobmon script: + the tool's default cluster and queue (Jobmon's example takes
# them from the site's configuration), + the status check on the last line. The library line and
# the namespace prefixes are unchanged; the server address comes from JMT_API_URL (or Jobmon's
# JOBMON__HTTP__SERVICE_URL).
library(jobmonr)

example_tool <- jobmonr::tool("r_example_project")
example_tool <- jobmonr::set_default_tool_resources(example_tool, default_cluster_name = "multiprocess", resources = list(queue = "null.q"))

example_task_template <- jobmonr::task_template(
    template_name = "r_example_model_template",
    command_template = "python model_script.py --loc_id {location_id}",
    node_args = c("location_id")
)

workflow <- jobmonr::workflow(example_tool)

example_tasks <- jobmonr::array_tasks(task_template = example_task_template, location_id = 1:3)

jobmonr::add_tasks(workflow, example_tasks)

status <- jobmonr::run(workflow)
if (status != "D") stop("workflow ended with status ", status)
