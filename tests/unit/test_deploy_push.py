"""The push loop against a scripted engine: every stream item is read (the SDK does not raise),
an auth refusal re-authenticates exactly once, transient errors retry, the digest is learnt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loono_infra.core.errors import DeployError
from loono_infra.deploy.push import EcrLogins, Pusher, RegistryLogin

DIGEST = "sha256:" + "a" * 64
OK = [{"status": "Preparing", "id": "l1"}, {"status": "Pushed", "id": "l1"},
      {"status": "Layer already exists", "id": "l2"}, {"aux": {"Digest": DIGEST}}]
UNAUTHORIZED = [{"status": "Preparing", "id": "l1"},
                {"errorDetail": {"message": "unauthorized: authentication required"},
                 "error": "unauthorized: authentication required"}]
REFUSED = [{"error": "dial tcp 127.0.0.1:5000: connect: connection refused"}]


class ScriptedApi:
    def __init__(self, *streams: list[dict[str, Any]]) -> None:
        self.streams = list(streams)
        self.passwords: list[str] = []

    def push(self, repository: str, tag: str, stream: bool, decode: bool,
             auth_config: dict[str, str]) -> Iterator[dict[str, Any]]:
        self.passwords.append(auth_config["password"])
        return iter(self.streams.pop(0))


class Engine:
    def __init__(self, api: ScriptedApi) -> None:
        self.api = api


class Image:
    def __init__(self) -> None:
        self.attrs: dict[str, Any] = {"RepoDigests": []}

    def tag(self, repository: str, tag: str) -> bool:
        return True


class CountingEcr:
    def __init__(self) -> None:
        self.calls = 0

    def get_authorization_token(self) -> dict[str, Any]:
        import base64

        self.calls += 1
        token = base64.b64encode(f"AWS:token-{self.calls}".encode()).decode()
        return {"authorizationData": [{"authorizationToken": token,
                                       "proxyEndpoint": "https://1.dkr.ecr.x.amazonaws.com",
                                       "expiresAt": datetime.now(UTC) + timedelta(hours=12)}]}


def pusher(api: ScriptedApi, ecr: CountingEcr, attempts: int = 3) -> Pusher:
    return Pusher(Engine(api), EcrLogins(ecr), attempts=attempts,  # type: ignore[arg-type]
                  max_wait=0.01)


def test_the_digest_and_layer_counts_come_from_the_stream() -> None:
    pushed = pusher(ScriptedApi(OK), CountingEcr()).push(Image(), "repo", "v1")  # type: ignore[arg-type]
    assert (pushed.digest, pushed.layers_uploaded, pushed.layers_present) == (DIGEST, 1, 1)
    assert pushed.reference == f"repo@{DIGEST}"


def test_an_expired_token_is_renewed_once() -> None:
    api, ecr = ScriptedApi(UNAUTHORIZED, OK), CountingEcr()
    pushed = pusher(api, ecr).push(Image(), "repo", "v1")  # type: ignore[arg-type]
    assert pushed.digest == DIGEST
    assert api.passwords == ["token-1", "token-2"] and ecr.calls == 2


def test_a_second_refusal_means_no_permission() -> None:
    api = ScriptedApi(UNAUTHORIZED, UNAUTHORIZED)
    with pytest.raises(DeployError, match="no permission to push to repo"):
        pusher(api, CountingEcr()).push(Image(), "repo", "v1")  # type: ignore[arg-type]


def test_transient_errors_are_retried_then_reported() -> None:
    api = ScriptedApi(REFUSED, REFUSED, OK)
    assert pusher(api, CountingEcr()).push(Image(), "repo", "v1").digest == DIGEST  # type: ignore[arg-type]
    with pytest.raises(DeployError, match="failed after 2 attempts: dial tcp"):
        pusher(ScriptedApi(REFUSED, REFUSED), CountingEcr(), attempts=2).push(
            Image(), "repo", "v1")  # type: ignore[arg-type]


def test_a_stream_without_a_digest_is_not_a_success() -> None:
    with pytest.raises(DeployError, match="ended without a digest"):
        pusher(ScriptedApi(OK[:3]), CountingEcr(), attempts=1).push(
            Image(), "repo", "v1")  # type: ignore[arg-type]


def test_a_login_is_reused_until_it_nears_expiry() -> None:
    ecr = CountingEcr()
    logins = EcrLogins(ecr)
    assert logins.current() is logins.current() and ecr.calls == 1
    logins.seed(RegistryLogin("https://x", "AWS", "old", datetime.now(UTC) + timedelta(minutes=1)))
    assert logins.current().password == "token-2"
