"""The one form of an HTTP answer that crm_core gives a handler (a lead post's JSON or page, an
unsubscribe, consent or survey page): status, body, content type, headers; and the one way a
router answers its routes' errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_core.errors import NotFound
from crm_core.http.router import HttpRouter, Response, RouteNotFound


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What a route answers; the handler returns `response()`."""

    status: int
    body: str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response[str]:
        """The answer as the router's Response."""
        return Response(self.status, self.content_type, self.body, headers=self.headers)


def answer_every_error(app: HttpRouter, failed: str, *, bad_body: tuple[type[Exception], ...] = ()) -> None:
    """Answer every exception of the router's routes in the one error shape (crm_core.http.errors):
    `bad_body` exceptions (a body that is not the JSON object a route reads) as 400 on `body`; an
    unexpected error is logged as `failed` with its traceback and answered 500 without its text; a
    request no route takes is answered 404."""
    from crm_core.http.errors import as_invalid_body, problem  # noqa: PLC0415 - error shapes only on an error
    from crm_core.observability import get_logger  # noqa: PLC0415 - logging only on an error

    @app.exception_handler(Exception)
    def _errors(exc: Exception) -> Response[str]:
        if isinstance(exc, RouteNotFound):  # a path or method no route takes: 404, not an internal error
            exc = NotFound("no such route")
        found = problem(as_invalid_body(exc) if isinstance(exc, bad_body) else exc)
        if found.status == 500:
            get_logger().exception(failed)
        return Response(found.status, "application/json", found.json(), headers=found.headers or None)
