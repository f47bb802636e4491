"""The local stack is up: the template's routes, a movable clock, an empty outbox."""

from __future__ import annotations

from infra.demo import when
from infra.local.client import LocalClient


def play(local: LocalClient) -> None:
    info = local.info()
    local.say(f"template.yaml runs on this laptop: moto plays AWS at {info['moto_endpoint']}.")
    routes = info["routes"]
    if routes:
        local.say(f"The HTTP API serves {len(routes)} route(s) of the template:")
        for route in routes:
            auth = " (IAM)" if route["auth"] == "AWS_IAM" else ""
            local.say(f"    {route['method']:6} {route['path']}  ->  {route['function']}{auth}")
    else:
        local.say("The template declares no HTTP route yet.")
    schedules = info["schedules"]
    local.say(f"{len(schedules)} scheduled function(s) run on demand: POST /_local/schedules/<Function>.")
    local.say(f"Queues: {', '.join(info['queues']) or 'none'}.")

    real_now = local.now()
    moved = local.set_clock("2027-02-28T09:30:00Z")
    local.say(
        f"The clock said {when(real_now)}; moved to {when(moved)}: every handler, and every scene after"
        " this one, lives from there on."
    )
    assert moved == "2027-02-28T09:30:00Z", moved
    assert local.now().startswith("2027-02-28T09:3"), "the local clock keeps ticking from where it was set"

    outbox = local.outbox()
    local.say(f"The outbox holds {len(outbox)} email(s): nothing has been sent yet.")
    assert outbox == [], outbox

    missing = local.get("/no-such-route")
    assert missing.status == 404 and missing.json() == {"message": "Not Found"}, missing.text
    local.say("A path the template does not declare answers 404 Not Found, as API Gateway does.")
