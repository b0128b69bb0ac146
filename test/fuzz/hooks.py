"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS=hooks).

One custom check: every 4xx answer carries the error body of docs/api-contract.md,
`{ "error": { "code", "message", "field"? } }`, with a non-empty code and message, and a `field`
on the answers that are about the input (400 malformed, 413 too large, 422 invalid) so the caller
knows what to fix. Without this, a 4xx with an empty or HTML body would pass `not_a_server_error`.
"""

import json

import schemathesis

# Statuses whose body must say which part of the request is wrong.
FIELD_REQUIRED = {400, 413, 422}


@schemathesis.check
def error_body_names_problem(ctx, response, case):
    status = response.status_code
    if status < 400 or status >= 500:
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise AssertionError(f"{status} answer is not JSON: {response.content[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise AssertionError(f"{status} answer has no error object: {body!r}"[:400])
    for key in ("code", "message"):
        value = error.get(key)
        if not isinstance(value, str) or not value.strip():
            raise AssertionError(f"{status} answer has no {key}: {body!r}"[:400])
    field = error.get("field")
    if status in FIELD_REQUIRED and (not isinstance(field, str) or not field.strip()):
        raise AssertionError(f"{status} answer does not name the field: {body!r}"[:400])
    return None
