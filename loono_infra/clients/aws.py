"""The one builder of boto3 clients, for real AWS or the sandbox (the caller cannot tell)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Every call ends: an endpoint that stops answering fails a call within about
# attempts x (connect + read) seconds (AWS's API calls answer in well under a second; standard
# retries back off on throttling and 5xx). The local sandbox answers in milliseconds.
AWS_TIMEOUTS = (5, 20, 5)  # connect seconds, read seconds, attempts (backing off)
SANDBOX_TIMEOUTS = (2, 10, 5)


@dataclass(frozen=True)
class AwsEndpoint:
    """Where AWS answers: real AWS (url None, the usual credential chain) or the sandbox's one
    endpoint with its fixed credentials."""

    region: str
    url: str | None = None
    credentials: Mapping[str, str] | None = None

    def session(self) -> Any:
        """A boto3 session of its own, for clients made one after another in one thread (they
        share its loaded models: a third of the time of a session each)."""
        import boto3

        return boto3.session.Session()

    def client(self, service: str, session: Any = None) -> Any:
        """A boto3 client from session, else from a session of its own (boto3's default
        session is not safe to share between threads)."""
        from botocore.config import Config

        connect, read, attempts = SANDBOX_TIMEOUTS if self.url else AWS_TIMEOUTS
        options: dict[str, Any] = {"region_name": self.region, "config": Config(
            connect_timeout=connect, read_timeout=read,
            retries={"mode": "standard", "max_attempts": attempts})}
        if self.url:
            options["endpoint_url"] = self.url
        if self.credentials:
            options["aws_access_key_id"] = self.credentials["AWS_ACCESS_KEY_ID"]
            options["aws_secret_access_key"] = self.credentials["AWS_SECRET_ACCESS_KEY"]
        return (session or self.session()).client(service, **options)

    def clients(self, *services: str) -> list[Any]:
        return [self.client(service) for service in services]
