"""The one HTTP door to the API (docs/api-contract.md), standard library only.

Errors come back as ``ApiError`` (the API's code/field/status and message) or ``ApiUnreachable``
(naming the URL). Idempotent GETs are retried briefly after a connection error or a 5xx; POSTs and
PUTs never are, because a bind chunk or a run start sent twice would not be harmless.
"""

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional

from jobmon_temporal.core.exceptions import ApiError, ApiUnreachable

API_PREFIX = "/api/v1"
DEFAULT_URL = "http://127.0.0.1:8070"


def default_api_url(env: Optional[Mapping[str, str]] = None) -> str:
    """``JMT_API_URL``, else Jobmon's ``JOBMON__HTTP__SERVICE_URL``, else the local default."""
    env = os.environ if env is None else env
    return env.get("JMT_API_URL") or env.get("JOBMON__HTTP__SERVICE_URL") or DEFAULT_URL


def _normalise(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(
            f"API URL {url!r} is not an http(s) URL; set JMT_API_URL, e.g. http://127.0.0.1:8070"
        )
    return url


class Requester:
    """Sends JSON to the API and returns the decoded JSON answer.

    Args:
        url: base URL (with or without ``/api/v1``); default from the environment.
        token: bearer token; default ``JMT_TOKEN``.
        timeout: seconds per request (a commit of a very large DAG legitimately takes a while).
        get_retries: extra attempts for GETs after a connection error or a 5xx.
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 300.0, get_retries: int = 2, retry_delay: float = 0.25) -> None:
        self.url = _normalise(url or default_api_url())
        self.token = token if token is not None else os.environ.get("JMT_TOKEN") or None
        self.timeout = timeout
        self.get_retries = get_retries
        self.retry_delay = retry_delay

    @classmethod
    def from_defaults(cls) -> "Requester":
        """Jobmon's name for "configured from the environment"."""
        return cls()

    def __repr__(self) -> str:
        return f"Requester(url={self.url!r})"

    def get(self, path: str, query: Optional[Dict[str, Any]] = None, **kw: Any) -> Any:
        return self.request("GET", path, query=query, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body=body, **kw)

    def request(self, method: str, path: str, body: Any = None,
                query: Optional[Dict[str, Any]] = None, retries: Optional[int] = None,
                timeout: Optional[float] = None) -> Any:
        attempts = (self.get_retries if retries is None else retries) if method == "GET" else 0
        delay = self.retry_delay
        for attempt in range(attempts + 1):
            try:
                return self._once(method, path, body, query, timeout or self.timeout)
            except (ApiUnreachable, ApiError) as err:
                retryable = isinstance(err, ApiUnreachable) or (err.status or 0) >= 500
                if not retryable or attempt >= attempts:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _full_url(self, path: str, query: Optional[Dict[str, Any]]) -> str:
        url = f"{self.url}{API_PREFIX}{path}"
        if query:
            pairs = []
            for key, value in query.items():
                if value is None:
                    continue
                if isinstance(value, (list, tuple)):
                    value = ",".join(str(v) for v in value)
                pairs.append((key, str(value)))
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        return url

    def _once(self, method: str, path: str, body: Any, query: Optional[Dict[str, Any]],
              timeout: float) -> Any:
        headers = {"accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json"
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self._full_url(path, query), data=data, headers=headers,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            try:
                text = err.read().decode("utf-8", "replace")
            except Exception:  # the body itself could not be read; the status still says enough
                text = ""
            raise self._api_error(err.code, err.reason, text, method, path) from None
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as err:
            raise self._unreachable(err, timeout) from None
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise ApiError(
                f"the API at {self.url} answered {method} {path} with something that is not JSON "
                f"(is {self.url} really the jobmon-temporal API?)",
                "bad_response", status, None, method, path) from None

    def _unreachable(self, err: BaseException, timeout: float) -> ApiUnreachable:
        reason = getattr(err, "reason", err)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return ApiUnreachable(
                f"the API at {self.url} did not answer within {timeout:g} s", self.url, "timeout")
        if isinstance(reason, ConnectionRefusedError):
            detail = "connection refused"
        elif isinstance(reason, socket.gaierror):
            detail = "host not found"
        elif isinstance(reason, ConnectionResetError):
            detail = "connection reset"
        else:
            detail = str(reason) or type(reason).__name__
        return ApiUnreachable(
            f"cannot reach the jobmon-temporal API at {self.url}: {detail}. Start it (`jmt up`) or "
            f"point JMT_API_URL at a running one.", self.url)

    def _api_error(self, status: int, reason: Any, text: str, method: str,
                   path: str) -> ApiError:
        parsed: Any = None
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            message = error.get("message") if isinstance(error.get("message"), str) else ""
            code = error.get("code") if isinstance(error.get("code"), str) else f"http_{status}"
            field = error.get("field") if isinstance(error.get("field"), str) else None
            return ApiError(message or f"HTTP {status} {reason}", code, status, field or None,
                            method, path)
        # Not the contract's shape (a proxy page, a crash): one short line so the user sees something.
        first = text.strip().splitlines()[0][:200] if text.strip() else ""
        detail = f": {first}" if first else ""
        return ApiError(f"{method} {path} failed with HTTP {status} {reason}{detail}",
                        f"http_{status}", status, None, method, path)
