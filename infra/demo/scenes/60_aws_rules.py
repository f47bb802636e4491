"""What AWS would have said: every call the scenes made ran under its function's IAM role."""

from __future__ import annotations

from infra.local.client import LocalClient


def play(local: LocalClient) -> None:
    report = local.get("/_local/iam").json()
    used = report["used"]
    calls = sum(len(grants) for grants in used.values())
    local.say(
        f"Every AWS call of these scenes was checked against the IAM role SAM generates for its function: "
        f"{len(used)} functions needed {calls} distinct action-on-resource grants."
    )
    for function, grants in sorted(used.items()):
        actions = sorted({grant.split(" on ", 1)[0] for grant in grants})
        local.say(f"    {function}: {', '.join(actions)}")
    denials = report["denials"]
    local.say(f"Calls AWS would have refused: {len(denials)}.  (GET /_local/iam shows this report.)")
    assert denials == [], denials
