# Jobmon on Temporal's R client without installing it: source("clients/r/jobmon_temporal.R") defines
# the package's functions (jobmonr names and the older jmt_* names) in the calling session. The
# usual way is to install the package: R CMD INSTALL clients/r, then library(jobmonr).
.jmt_src_dir <- local({
  f <- tryCatch(sys.frame(1)$ofile, error = function(e) NULL)
  dirname(normalizePath(if (is.null(f)) "clients/r/jobmon_temporal.R" else f))
})
for (.jmt_f in c("http.R", "tool.R", "task.R", "workflow.R", "run.R", "aliases.R")) {
  source(file.path(.jmt_src_dir, "R", .jmt_f))
}
rm(.jmt_f, .jmt_src_dir)
