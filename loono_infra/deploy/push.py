"""Push an image to ECR through the Docker engine: log in the ECR way, read every item of the
push stream (the SDK does not raise on a failed push), retry transient registry errors with
backoff, re-authenticate once on an expired token, learn the digest. An image the repository
already holds is not pushed again.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
import docker.errors
from docker.models.images import Image
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from loono_infra.core.errors import DeployError

PushProgress = Callable[[dict[str, Any]], None]
_MANIFEST_TYPES = ", ".join((
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
))
_AUTH_WORDS = ("unauthorized", "authentication required", "no basic auth credentials",
               "denied", "forbidden", "authorization token has expired")
_TRANSIENT_WORDS = ("connection refused", "connection reset", "eof", "timeout", "timed out",
                    "503", "502", "504", "temporarily unavailable", "broken pipe",
                    "no such host", "tls handshake", "i/o")


class TransientPushError(Exception):
    """The registry failed in a way worth another attempt."""


class AuthPushError(Exception):
    """The registry refused the credentials."""


@dataclass(frozen=True)
class RegistryLogin:
    """Credentials for one registry, as ecr:GetAuthorizationToken gives them."""

    endpoint: str
    username: str
    password: str
    expires_at: datetime

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


class EcrLogins:
    """ECR credentials from GetAuthorizationToken, kept until shortly before they expire."""

    def __init__(self, ecr: Any, clock: Callable[[], datetime] | None = None) -> None:
        self._ecr = ecr
        self._clock = clock or (lambda: datetime.now(UTC))
        self._login: RegistryLogin | None = None

    def current(self) -> RegistryLogin:
        login = self._login
        if login is None or login.expires_at - timedelta(minutes=5) <= self._clock():
            login = self.refresh()
        return login

    def refresh(self) -> RegistryLogin:
        try:
            data = self._ecr.get_authorization_token()["authorizationData"][0]
        except Exception as error:  # botocore's errors and a malformed answer alike
            raise DeployError(f"ecr:GetAuthorizationToken failed: {error}") from error
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        self._login = RegistryLogin(str(data["proxyEndpoint"]).rstrip("/"), username, password,
                                    data["expiresAt"])
        return self._login

    def seed(self, login: RegistryLogin) -> None:
        """Starts from a known login (a cached one, or a stale one in tests)."""
        self._login = login


@dataclass(frozen=True)
class PushedImage:
    """Where the image now is: the repository, its digest and what the push moved."""

    repository_uri: str
    tag: str
    digest: str
    pushed: bool
    layers_uploaded: int
    layers_present: int
    seconds: float

    @property
    def reference(self) -> str:
        """repository@sha256:... : the immutable name a task definition pins."""
        return f"{self.repository_uri}@{self.digest}"


@dataclass
class _StreamResult:
    digest: str | None = None
    uploaded: int = 0
    present: int = 0


class Pusher:
    """Pushes local images to one ECR repository."""

    def __init__(self, client: docker.DockerClient, logins: EcrLogins, attempts: int = 4,
                 progress: PushProgress | None = None, max_wait: float = 8.0) -> None:
        self._client = client
        self._logins = logins
        self._attempts = attempts
        self._progress = progress
        self._max_wait = max_wait

    def push(self, image: Image, repository_uri: str, tag: str) -> PushedImage:
        started = time.monotonic()
        held = self._digest_held(image, repository_uri)
        if held is not None:
            return PushedImage(repository_uri, tag, held, False, 0, 0,
                               time.monotonic() - started)
        if not image.tag(repository_uri, tag):
            raise DeployError(f"could not tag the image as {repository_uri}:{tag}")
        result = self._push_with_retries(repository_uri, tag)
        assert result.digest is not None
        return PushedImage(repository_uri, tag, result.digest, True, result.uploaded,
                           result.present, time.monotonic() - started)

    def add_tag(self, image: Image, repository_uri: str, tag: str) -> str:
        """Pushes one more tag for an image already in the repository (its layers and
        manifest are there: only the tag is new); returns the digest it names."""
        if not image.tag(repository_uri, tag):
            raise DeployError(f"could not tag the image as {repository_uri}:{tag}")
        result = self._push_with_retries(repository_uri, tag)
        assert result.digest is not None
        return result.digest

    def _push_with_retries(self, repository_uri: str, tag: str) -> _StreamResult:
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts), reraise=True,
            wait=wait_exponential(multiplier=0.5, max=self._max_wait),
            retry=retry_if_exception_type(TransientPushError))
        try:
            return retrying(self._push_reauthenticating, repository_uri, tag)
        except TransientPushError as error:
            raise DeployError(f"pushing to {repository_uri} failed after {self._attempts} "
                              f"attempts: {error}") from error

    def _push_reauthenticating(self, repository_uri: str, tag: str) -> _StreamResult:
        try:
            return self._push_once(repository_uri, tag, self._logins.current())
        except AuthPushError:
            pass
        try:  # the token may have expired under us: one fresh login, one more try
            return self._push_once(repository_uri, tag, self._logins.refresh())
        except AuthPushError as error:
            raise DeployError(f"no permission to push to {repository_uri} (the registry "
                              f"refused a fresh ECR token: {error})") from error

    def _push_once(self, repository_uri: str, tag: str, login: RegistryLogin) -> _StreamResult:
        try:
            stream = self._client.api.push(repository_uri, tag=tag, stream=True, decode=True,
                                           auth_config=login.auth_config())
            result = self._read(stream)
        except docker.errors.APIError as error:
            raise _classified(str(error.explanation or error)) from error
        except OSError as error:  # the engine's connection broke mid-stream
            raise TransientPushError(str(error)) from error
        if result.digest is None:
            raise TransientPushError("the push stream ended without a digest")
        return result

    def _read(self, stream: Iterable[dict[str, Any]]) -> _StreamResult:
        result = _StreamResult()
        for item in stream:
            if "error" in item or "errorDetail" in item:
                raise _classified(str(item.get("error") or item["errorDetail"].get("message")))
            status = str(item.get("status", ""))
            result.uploaded += status == "Pushed"
            result.present += status == "Layer already exists"
            aux = item.get("aux") or {}
            result.digest = str(aux["Digest"]) if "Digest" in aux else result.digest
            if self._progress is not None:
                self._progress(item)
        return result

    def _digest_held(self, image: Image, repository_uri: str) -> str | None:
        """The digest of this image in the repository, when the registry already holds it."""
        digests = [str(d).split("@", 1)[1] for d in image.attrs.get("RepoDigests") or []
                   if str(d).split("@", 1)[0] == repository_uri]
        if not digests:
            return None
        login = self._logins.current()
        path = repository_uri.split("/", 1)[1]
        for digest in digests:
            if _manifest_exists(login, path, digest):
                return digest
        return None


def _manifest_exists(login: RegistryLogin, path: str, digest: str) -> bool:
    request = urllib.request.Request(f"{login.endpoint}/v2/{path}/manifests/{digest}",
                                     method="HEAD")
    token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Accept", _MANIFEST_TYPES)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _classified(message: str) -> Exception:
    lowered = message.lower()
    if any(word in lowered for word in _AUTH_WORDS):
        return AuthPushError(message)
    if any(word in lowered for word in _TRANSIENT_WORDS):
        return TransientPushError(message)
    return DeployError(f"push failed: {message}")
