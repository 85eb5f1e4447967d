"""The one builder of boto3 clients, for real AWS or the sandbox (the caller cannot tell)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AwsEndpoint:
    """Where AWS answers: real AWS (url None, the usual credential chain) or the sandbox's one
    endpoint with its fixed credentials."""

    region: str
    url: str | None = None
    credentials: Mapping[str, str] | None = None

    def client(self, service: str) -> Any:
        """A boto3 client from a session of its own (boto3's default session is not safe to
        share between threads)."""
        import boto3

        options: dict[str, Any] = {"region_name": self.region}
        if self.url:
            options["endpoint_url"] = self.url
        if self.credentials:
            options["aws_access_key_id"] = self.credentials["AWS_ACCESS_KEY_ID"]
            options["aws_secret_access_key"] = self.credentials["AWS_SECRET_ACCESS_KEY"]
        return boto3.session.Session().client(service, **options)  # type: ignore[call-overload]

    def clients(self, *services: str) -> list[Any]:
        return [self.client(service) for service in services]
