"""A started stack's working parts: made together, once moto and the environment are in place."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import boto3
from botocore.config import Config

from infra.aws_rules.enforce import Deployment
from infra.local.outbox import Outbox
from infra.local.runtime import Runtime
from infra.local.triggers.buckets import Buckets
from infra.local.triggers.buses import Buses
from infra.local.triggers.destinations import destination_sender
from infra.local.triggers.inbox import Inbox
from infra.local.triggers.queues import Queues
from infra.local.triggers.schedules import Schedules
from infra.local.triggers.topics import Topics
from infra.provision import provision
from infra.template import Template


@dataclass(frozen=True)
class StackParts:
    """The template's resources in moto, the functions' runtime and a runner for each kind of trigger."""

    template: Template
    moto_url: str
    deployment: Deployment
    outbox: Outbox
    runtime: Runtime
    schedules: Schedules
    queues: Queues
    topics: Topics
    buckets: Buckets
    inbox: Inbox
    buses: Buses

    @classmethod
    def create(
        cls,
        template: Template,
        *,
        moto_url: str,
        deployment: Deployment,
        outbox: Outbox,
        log: Callable[[str], None],
        env_overrides: Mapping[str, str],
    ) -> StackParts:
        """Create the template's resources in moto at `moto_url`, then the runners that serve them.

        The process's environment must already point at moto (the runtime copies it for every function).
        """
        session = boto3.Session(region_name=template.region)
        config = Config(retries={"mode": "standard", "max_attempts": 2})
        sqs = session.client("sqs", endpoint_url=moto_url, config=config)
        sns = session.client("sns", endpoint_url=moto_url, config=config)
        s3 = session.client("s3", endpoint_url=moto_url, config=config)
        provision(template, session)
        runtime = Runtime(template, dict(os.environ), log, env_overrides, deployment=deployment)
        topics = Topics(template, runtime, sns)
        buckets = Buckets(template, runtime, s3)
        runtime.send_to_destination = destination_sender(sqs, topics, runtime)
        buses = Buses(template, runtime)
        buses.listen(boto3._get_default_session())  # the functions' clients come from it
        runtime.after_invocation = buses.flush
        return cls(
            template=template,
            moto_url=moto_url,
            deployment=deployment,
            outbox=outbox,
            runtime=runtime,
            schedules=Schedules(template, runtime),
            queues=Queues(template, runtime, sqs),
            topics=topics,
            buckets=buckets,
            inbox=Inbox(template, runtime, buckets, topics),
            buses=buses,
        )
