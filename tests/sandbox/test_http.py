"""The generic router and server under the sandboxes."""

from __future__ import annotations

import requests

from connector.sandbox.http import HttpServer, Request, Response, Router


def test_router_matches_placeholders_trailing_slash_and_methods() -> None:
    router = Router()
    router.add("GET", "/a/{x}/b", lambda r: Response.json({"x": r.path_params["x"]}))
    found = router.match("GET", "/a/hello%20you/b/")
    assert found is not None and not isinstance(found, str) and found.params == {"x": "hello you"}
    assert router.match("POST", "/a/1/b") == "method"
    assert router.match("GET", "/a/1/c") is None


def test_server_round_trip_and_drop() -> None:
    def app(request: Request) -> Response:
        if request.path == "/drop":
            return Response(drop=True)
        return Response.json({"q": request.args("p"), "body": request.json() if request.body else None}, 201)

    server = HttpServer(app)
    server.start()
    try:
        answer = requests.post(server.base_url + "/x?p=a,b&p=c", json={"k": 1})
        assert answer.status_code == 201 and answer.json() == {"q": ["a", "b", "c"], "body": {"k": 1}}
        try:
            requests.get(server.base_url + "/drop")
        except requests.ConnectionError:
            pass
        else:
            raise AssertionError("a dropped connection must not produce an answer")
    finally:
        server.stop()
