"""Client behaviour that needs no API: argument checks, task building, bind requests, HTTP errors."""

import gc
import http.server
import json
import socket
import threading
import weakref

import pytest

from jobmon_temporal import ApiError, ApiUnreachable, Requester
from jobmon_temporal.client.tool import Tool
from jobmon_temporal.core.exceptions import (
    CyclicGraphError,
    DuplicateNodeArgsError,
    NodeDependencyNotExistError,
)


@pytest.fixture
def tool():
    return Tool("offline", requester=Requester("http://127.0.0.1:9"))


@pytest.fixture
def model(tool):
    return tool.get_task_template(
        template_name="model", command_template="python m.py --loc {loc} --sex {sex} --in {data} {v}",
        node_args=["loc", "sex"], task_args=["data"], op_args=["v"])


def test_compat_import_paths():
    from jobmon_temporal.client.api import Tool as ApiTool
    from jobmon_temporal.client.task import Task
    from jobmon_temporal.client.task_template import TaskTemplate
    from jobmon_temporal.client.tool import Tool as ToolTool
    from jobmon_temporal.client.workflow import Workflow
    from jobmon_temporal.core.constants import WorkflowRunStatus
    assert ApiTool is ToolTool and Task and TaskTemplate and Workflow
    assert WorkflowRunStatus.DONE == "D"


def test_create_task_kwargs_must_match_the_template(model):
    with pytest.raises(ValueError, match=r"missing argument v\b"):
        model.create_task(loc=1, sex="m", data="d")
    with pytest.raises(ValueError, match="unknown argument colour"):
        model.create_task(loc=1, sex="m", data="d", v="", colour="red")
    with pytest.raises(ValueError, match="illegal character"):
        model.create_task(name="has space", loc=1, sex="m", data="d", v="")
    with pytest.raises(ValueError, match="must not start with a digit"):
        model.create_task(name="1st", loc=1, sex="m", data="d", v="")
    with pytest.raises(ValueError, match="compute_resources_callable is not supported"):
        model.create_task(loc=1, sex="m", data="d", v="", compute_resources_callable=lambda: {})
    with pytest.raises(ValueError, match="callables and iterators"):
        model.create_task(loc=1, sex="m", data="d", v="", resource_scales={"memory": iter([1, 2])})


def test_template_definition_is_checked_where_it_is_written(tool):
    with pytest.raises(ValueError, match=r"placeholder \{year\}"):
        tool.get_task_template(template_name="t", command_template="x {loc} {year}", node_args=["loc"])
    with pytest.raises(ValueError, match="does not appear in command_template"):
        tool.get_task_template(template_name="t", command_template="x {loc}", node_args=["loc", "sex"])
    with pytest.raises(ValueError, match="positional placeholder"):
        tool.get_task_template(template_name="t", command_template="x {}", node_args=[])
    with pytest.raises(ValueError, match="clashes with create_task"):
        tool.get_task_template(template_name="t", command_template="x {name}", node_args=["name"])
    literal = tool.get_task_template(template_name="t", command_template="awk '{{print}}' {f}",
                                     node_args=["f"])
    assert literal.create_task(f="a.txt").command == "awk '{print}' a.txt"


def test_create_tasks_is_the_cross_product_in_declared_order(model):
    tasks = model.create_tasks(loc=[1, 2], sex=("m", "f"), data="/d", v="-v")
    assert [t.name for t in tasks] == ["model_loc-1_sex-m", "model_loc-1_sex-f",
                                       "model_loc-2_sex-m", "model_loc-2_sex-f"]
    assert tasks[3].command == "python m.py --loc 2 --sex f --in /d -v"
    assert tasks[0].node_args == {"loc": "1", "sex": "m"}  # values are str(), as str.format renders
    with pytest.raises(ValueError, match="single value"):
        model.create_tasks(loc=1, sex="m", data=["a", "b"], v="")


def test_same_template_definition_returns_the_same_object(tool, model):
    again = tool.get_task_template(
        template_name="model", command_template="python m.py --loc {loc} --sex {sex} --in {data} {v}",
        node_args=["loc", "sex"], task_args=["data"], op_args=["v"])
    assert again is model


def test_workflow_checks_before_any_request(tool, model):
    wf = tool.create_workflow(workflow_args="w")
    a = model.create_task(loc=1, sex="m", data="d", v="")
    wf.add_task(a)
    with pytest.raises(DuplicateNodeArgsError):
        wf.add_task(model.create_task(loc=1, sex="m", data="other", v=""))
    b = model.create_task(loc=2, sex="m", data="d", v="", upstream_tasks=[a])
    c = model.create_task(loc=3, sex="m", data="d", v="", upstream_tasks=[b])
    wf.add_task(c)
    with pytest.raises(NodeDependencyNotExistError, match="model_loc-2_sex-m"):
        wf.bind()
    wf.add_task(b)
    a.add_upstream(c)
    with pytest.raises(CyclicGraphError):
        wf.validate()
    assert wf.validate(raise_on_error=False) is False
    with pytest.raises(ValueError, match="no tasks"):
        tool.create_workflow(workflow_args="empty").bind()


def test_bind_request_carries_defaults_limits_and_upstream_keys(tool, model):
    tool.set_default_compute_resources_from_dict("multiprocess", {"queue": "null.q", "cores": 1})
    wf = tool.create_workflow(workflow_args="w", max_concurrently_running=5,
                              workflow_attributes=["flag"], default_max_attempts=2)
    tasks = model.create_tasks(loc=[1, 2], sex="m", data="d", v="", max_concurrently_running=3)
    after = model.create_task(loc=9, sex="f", data="d", v="", upstream_tasks=tasks, max_attempts=4,
                              task_attributes={"k": 1})
    wf.add_tasks(tasks + [after])
    draft, specs, _ = wf._bind_request()
    assert draft["workflow"]["default_cluster_name"] == "multiprocess"
    assert draft["workflow"]["default_compute_resources"] == {"queue": "null.q", "cores": 1}
    assert draft["workflow"]["default_max_attempts"] == 2
    assert draft["workflow"]["attributes"] == {"flag": ""}
    assert draft["task_templates"][0]["max_concurrently_running"] == 3
    wf.set_task_template_max_concurrency_limit("model", 1)
    draft, specs, _ = wf._bind_request()
    assert draft["task_templates"][0]["max_concurrently_running"] == 1
    assert sorted(specs[2]["upstream"]) == ["0", "1"]
    assert specs[2]["max_attempts"] == 4 and specs[2]["attributes"] == {"k": "1"}
    assert specs[0]["task_args"] == {"data": "d"} and "upstream" not in specs[0]


def test_upstreams_named_by_ref_bind_as_the_tasks_they_name(tool, model):
    wf = tool.create_workflow(workflow_args="w")
    first = model.create_task(loc=1, sex="m", data="d", v="")
    after = model.create_task(loc=2, sex="m", data="d", v="",
                              upstream_tasks=[model.ref(loc=1, sex="m"), first])
    assert len(after.upstream_refs) == 1 and after.upstream_tasks == {first}
    wf.add_tasks([first, after])
    _, specs, _ = wf._bind_request()
    assert specs[1]["upstream"] == ["0"]  # the ref and the Task are one edge
    assert model.ref(sex="m", loc=1).key == first.key == '["model",{"loc":"1","sex":"m"}]'

    with pytest.raises(ValueError, match=r"takes exactly the node args \(loc, sex\); not node args: data; missing: sex"):
        model.ref(loc=1, data="d")
    with pytest.raises(ValueError, match="its own upstream"):
        model.create_task(loc=3, sex="m", data="d", v="", upstream_tasks=[model.ref(loc=3, sex="m")])
    lonely = tool.create_workflow(workflow_args="w2")
    lonely.add_task(model.create_task(loc=4, sex="m", data="d", v="", upstream_tasks=[model.ref(loc=5, sex="m")]))
    with pytest.raises(NodeDependencyNotExistError, match="is not a task of the workflow"):
        lonely.bind()


def test_unreachable_api_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nothing listens there
    api = Requester(f"http://127.0.0.1:{port}/api/v1/", get_retries=0)
    assert api.url == f"http://127.0.0.1:{port}"
    with pytest.raises(ApiUnreachable) as caught:
        api.get("/health")
    assert f"http://127.0.0.1:{port}" in str(caught.value) and "connection refused" in str(caught.value)
    assert caught.value.url == f"http://127.0.0.1:{port}"


def test_environment_names_the_server(monkeypatch):
    monkeypatch.delenv("JMT_API_URL", raising=False)
    monkeypatch.setenv("JOBMON__HTTP__SERVICE_URL", "http://jobmon.example:8070")
    monkeypatch.setenv("JMT_TOKEN", "secret")
    api = Requester()
    assert api.url == "http://jobmon.example:8070" and api.token == "secret"
    with pytest.raises(ValueError, match="not an http"):
        Requester("jobmon.example:8070")


class _FakeApi(http.server.BaseHTTPRequestHandler):
    """Answers bind requests like the API (counting chunks), and one route with a proxy page."""
    chunks = []
    bodies = []
    queries = []

    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"] or 0)) or b"null")
        path, _, query = self.path.partition("?")
        _FakeApi.queries.append(query)
        if path == "/api/v1/bind/drafts":
            self._send(201, {"draft_id": "d1"})
        elif path == "/api/v1/bind/drafts/d1/tasks":
            _FakeApi.chunks.append(len(body["tasks"]))
            _FakeApi.bodies.append(body)
            self._send(200, {"received": len(body["tasks"]), "total": sum(_FakeApi.chunks)})
        elif path == "/api/v1/bind/drafts/d1/commit":
            self._send(422, {"error": {"code": "outside_queue_limits", "message": "cores=99 is too many",
                                       "field": "tasks[6].compute_resources.cores"}})
        else:
            self._send(502, "<html><body>Bad gateway\nfrom the proxy</body></html>", "text/html")


@pytest.fixture
def fake_api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeApi.chunks = []
    _FakeApi.bodies = []
    _FakeApi.queries = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bind_sends_chunks_and_names_the_task_of_a_refused_field(fake_api, model):
    tool = Tool("fake", requester=Requester(fake_api))
    tt = tool.get_task_template(template_name="m", command_template="m {i}", node_args=["i"])
    wf = tool.create_workflow(workflow_args="w", chunk_size=3)
    wf.add_tasks(tt.create_tasks(i=list(range(8))))
    with pytest.raises(ApiError) as caught:
        wf.bind()
    assert _FakeApi.chunks == [3, 3, 2]
    err = caught.value
    assert (err.status, err.code, err.field) == (422, "outside_queue_limits", "tasks[6].compute_resources.cores")
    assert str(err).startswith("task m_i-6: cores=99 is too many")


def test_non_contract_error_body_is_one_readable_line(fake_api):
    with pytest.raises(ApiError) as caught:
        Requester(fake_api).post("/elsewhere", {})
    err = caught.value
    assert err.status == 502 and err.code == "http_502"
    assert "\n" not in str(err) and "Bad gateway" in str(err)


def test_bind_stream_sends_tasks_as_drawn_and_keeps_none(fake_api):
    tool = Tool("fake", requester=Requester(fake_api))
    tt = tool.get_task_template(template_name="m", command_template="m {i}", node_args=["i"])
    wf = tool.create_workflow(workflow_args="w", chunk_size=3)
    alive = []
    drawn = []

    def tasks():
        for i in range(8):
            drawn.append((i, len(_FakeApi.chunks)))
            task = tt.create_task(i=i, upstream_tasks=[tt.ref(i=i - 1)] if i else [])
            alive.append(weakref.ref(task))
            yield task

    with pytest.raises(ApiError) as caught:
        wf.bind_stream(tasks(), templates=[tt])
    # Drawn a chunk at a time: task 3 after the first chunk went, task 6 after the second.
    assert drawn[3] == (3, 1) and drawn[6] == (6, 2)
    assert _FakeApi.chunks == [3, 3, 2]
    assert [b["offset"] for b in _FakeApi.bodies] == [0, 3, 6]
    assert _FakeApi.queries[-1] == "task_ids=false"  # the answer would name tasks no longer held
    second = _FakeApi.bodies[0]["tasks"][1]
    assert second["key"] == '["m",{"i":"1"}]' and second["upstream"] == ['["m",{"i":"0"}]']
    # The commit's refusal names the field; the task itself is gone, so its index stands.
    assert caught.value.field == "tasks[6].compute_resources.cores"
    del caught  # its traceback holds bind_stream's frame, and so the last task drawn
    gc.collect()
    assert [ref() for ref in alive] == [None] * 8  # nothing streamed is kept


def test_bind_stream_refuses_what_it_can_check_before_any_request(tool, model):
    other = Tool("other", requester=tool.requester).get_task_template(
        template_name="o", command_template="o {i}", node_args=["i"])
    unlisted = tool.get_task_template(template_name="u", command_template="u {i}", node_args=["i"])
    wf = tool.create_workflow(workflow_args="w")
    with pytest.raises(ValueError, match="needs the templates"):
        wf.bind_stream([], templates=[])
    with pytest.raises(ValueError, match='from tool "?\'?other'):
        wf.bind_stream([], templates=[other])
    held = tool.create_workflow(workflow_args="w2")
    held.add_task(unlisted.create_task(i=1))
    with pytest.raises(ValueError, match="already holds 1"):
        held.bind_stream([], templates=[unlisted])
    with pytest.raises(ValueError, match="max_concurrently_running=2"):
        wf._check_streamed(model.create_tasks(loc=[1], sex="m", data="d", v="", max_concurrently_running=2)[0],
                           {"model": model})
    with pytest.raises(ValueError, match="not in bind_stream's templates"):
        wf._check_streamed(unlisted.create_task(i=1), {"model": model})


def test_bind_stream_closes_a_chunk_at_the_upstream_cap(fake_api):
    tool = Tool("fake", requester=Requester(fake_api))
    tt = tool.get_task_template(template_name="m", command_template="m {i}", node_args=["i"])
    fan = tool.get_task_template(template_name="f", command_template="f {i}", node_args=["i"])
    wf = tool.create_workflow(workflow_args="w")

    def tasks():
        yield from (tt.create_task(i=i) for i in range(10))
        for i in range(3):  # 30,000 upstreams each: the first two reach 50,000 (plus the 10 before)
            yield fan.create_task(i=i, upstream_tasks=[tt.ref(i=j) for j in range(30_000)])

    with pytest.raises(ApiError):  # the fake's commit refuses; the chunks are what is measured
        wf.bind_stream(tasks(), templates=[tt, fan])
    assert _FakeApi.chunks == [12, 1]
