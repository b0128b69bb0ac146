# HTTP layer of the R client: the server address, JSON encoding and the conditions an API
# refusal or an unreachable server raise. Everything else in the package goes through
# .jmt_request(), so every call has the same error handling (docs/api-contract.md).

JMT_MAX_TASKS_PER_CHUNK <- 5000L
JMT_FINAL_RUN_STATUSES <- c("D", "S", "E", "T", "A")

#' Conditions raised by the client
#'
#' An API refusal is a condition of class `jmt_api_error` carrying `$code`, `$field` (the
#' offending field of the request, e.g. `tasks[3].compute_resources.queue`) and `$status` (the
#' HTTP status). A server that cannot be reached is a `jmt_unreachable` condition naming the URL.
#' Both also inherit from `jmt_error` and `error`.
#'
#' @param message Human-readable message.
#' @param code Machine-readable code, e.g. `unknown_queue`.
#' @param status HTTP status.
#' @param field Offending request field, or `NULL`.
#' @return A condition object (signal it with [stop()]).
#' @examples
#' e <- jmt_api_error("queue \"x\" does not exist", "unknown_queue", 422L, "tasks[0].compute_resources.queue")
#' inherits(e, "jmt_api_error")
#' @export
jmt_api_error <- function(message, code, status = NA_integer_, field = NULL) {
  where <- if (!is.null(field)) sprintf(" (field %s)", field) else ""
  structure(
    class = c("jmt_api_error", "jmt_error", "error", "condition"),
    list(message = sprintf("%s%s [HTTP %s, code %s]", message, where, status, code),
         api_message = message, code = code, status = status, field = field, call = NULL))
}

#' @rdname jmt_api_error
#' @param url The server address that could not be reached.
#' @param detail What went wrong (connection refused, host not found, ...).
#' @export
jmt_unreachable <- function(url, detail) {
  structure(
    class = c("jmt_unreachable", "jmt_error", "error", "condition"),
    list(message = sprintf(paste0("cannot reach the Jobmon on Temporal API at %s: %s. Start it (`jmt up`) ",
                                  "or point JMT_API_URL (or JOBMON__HTTP__SERVICE_URL) at a running one."),
                           url, detail),
         url = url, code = "unreachable", call = NULL))
}

.jmt_stop <- function(...) stop(simpleError(paste0(...)))

`%||%` <- function(a, b) if (is.null(a)) b else a

# The server address: the argument, else JMT_API_URL, else Jobmon's JOBMON__HTTP__SERVICE_URL
# (so a Jobmon site configuration keeps working), else the local default. Jobmon's route prefix
# (/api/v3) or ours (/api/v1) at the end is dropped: the client adds /api/v1 itself.
.jmt_base_url <- function(url = NULL) {
  if (is.null(url) || !nzchar(url)) {
    candidates <- c(Sys.getenv("JMT_API_URL"), Sys.getenv("JOBMON__HTTP__SERVICE_URL"), "http://127.0.0.1:8070")
    url <- candidates[nzchar(candidates)][1]
  }
  url <- sub("/+$", "", url)
  url <- sub("/api/v[0-9]+$", "", url)
  if (!grepl("^https?://[^/]+", url)) .jmt_stop("API URL '", url, "' is not an http(s) URL; set JMT_API_URL")
  url
}

.jmt_api <- function(url = NULL, token = Sys.getenv("JMT_TOKEN")) list(url = .jmt_base_url(url), token = token)

# JSON by hand so that arrays stay arrays (I()) and empty named lists become {}.
.jmt_json <- function(x) as.character(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null", digits = NA))

.jmt_named <- function(x) if (length(x) == 0) stats::setNames(list(), character()) else x

.jmt_describe_failure <- function(msg, timeout) {
  if (grepl("refused|Failed to connect|Couldn't connect", msg, ignore.case = TRUE)) {
    "connection refused"
  } else if (grepl("resolve", msg, ignore.case = TRUE)) {
    "host not found"
  } else if (grepl("timed? ?out", msg, ignore.case = TRUE)) {
    sprintf("no answer within %s s", timeout)
  } else {
    msg
  }
}

.jmt_request <- function(api, method, path, body = NULL, query = NULL, timeout = 300) {
  req <- httr2::request(paste0(api$url, "/api/v1", path))
  req <- httr2::req_method(req, method)
  req <- httr2::req_headers(req, accept = "application/json")
  if (nzchar(api$token)) req <- httr2::req_headers(req, Authorization = paste("Bearer", api$token))
  if (!is.null(query)) req <- do.call(httr2::req_url_query, c(list(req), Filter(Negate(is.null), query)))
  if (!is.null(body)) req <- httr2::req_body_raw(req, .jmt_json(body), type = "application/json")
  req <- httr2::req_timeout(req, timeout)
  req <- httr2::req_error(req, is_error = function(resp) FALSE)
  resp <- tryCatch(httr2::req_perform(req), error = function(e) {
    stop(jmt_unreachable(api$url, .jmt_describe_failure(conditionMessage(e), timeout)))
  })
  status <- httr2::resp_status(resp)
  text <- httr2::resp_body_string(resp, encoding = "UTF-8")
  parsed <- if (nzchar(text)) tryCatch(jsonlite::fromJSON(text, simplifyVector = FALSE), error = function(e) NULL) else NULL
  if (status >= 400) {
    err <- if (is.list(parsed)) parsed$error else NULL
    if (is.list(err)) {
      stop(jmt_api_error(err$message %||% sprintf("HTTP %d", status), err$code %||% sprintf("http_%d", status),
                         status, err$field))
    }
    first <- substr(strsplit(trimws(text), "\n", fixed = TRUE)[[1]][1], 1, 200)
    stop(jmt_api_error(sprintf("%s %s failed with HTTP %d%s", method, path, status,
                               if (is.na(first) || !nzchar(first)) "" else paste0(": ", first)),
                       sprintf("http_%d", status), status))
  }
  if (nzchar(text) && is.null(parsed)) {
    stop(jmt_api_error(sprintf("the API at %s answered %s %s with something that is not JSON",
                               api$url, method, path), "bad_response", status))
  }
  parsed
}

#' Clusters, their types and queues with limits
#'
#' What `default_cluster_name` and the `queue` resource may name on this server, with each
#' queue's limits (`cores`, `memory` in GiB, `runtime` in seconds) and the compute-resource keys
#' each cluster type honours.
#'
#' @param url Server address; default `JMT_API_URL` or `JOBMON__HTTP__SERVICE_URL`.
#' @return A list of clusters (`name`, `cluster_type`, `queues`, `honoured_resource_keys`).
#' @export
clusters <- function(url = NULL) .jmt_request(.jmt_api(url), "GET", "/clusters")$clusters
