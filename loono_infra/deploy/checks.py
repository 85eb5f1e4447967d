"""After the rollout: the health endpoint must answer healthy N times in a row, then the
post-deploy tests (health once more, the OpenAPI document valid and listing the required paths).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


@dataclass(frozen=True)
class Answer:
    """One HTTP answer (status 0: no answer at all)."""

    status: int
    body: bytes
    error: str = ""


Fetch = Callable[[str], Answer]


def http_fetch(timeout: float, ca_bundle: Path | None = None) -> Fetch:
    """GET over urllib with a timeout; never raises for HTTP or network errors.

    HTTPS is always verified: against ca_bundle when given (the sandbox's CA), else the
    system's trust store.
    """
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)

    def fetch(url: str) -> Answer:
        try:
            with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
                return Answer(answer.status, answer.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read() if error.fp else b"")
        except (urllib.error.URLError, OSError, ValueError) as error:
            return Answer(0, b"", str(getattr(error, "reason", error)))
    return fetch


def health_verdict(answer: Answer) -> str | None:
    """None when healthy: 2xx and, for a JSON body with a status, status UP (Spring's form)."""
    if answer.status == 0:
        return f"no answer ({answer.error})"
    if not 200 <= answer.status < 300:
        return f"HTTP {answer.status}"
    try:
        document = json.loads(answer.body)
    except ValueError:
        return None
    status = document.get("status") if isinstance(document, dict) else None
    if status is not None and str(status).upper() != "UP":
        return f"HTTP {answer.status} but status {status}"
    return None


@dataclass
class HealthResult:
    """The run of health checks: healthy when ``passes`` reached the required count."""

    url: str
    required: int
    passes: int = 0
    checks: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.passes >= self.required

    def story(self) -> str:
        return (f"health endpoint {self.url}: {self.passes} of {self.required} consecutive "
                f"healthy answers; last: {', '.join(self.checks[-3:]) or 'none'}")


def consecutive_health(fetch: Fetch, url: str, required: int, give_up_after: int,
                       interval: float, sleep: Callable[[float], None]) -> HealthResult:
    """Checks until `required` healthy answers in a row, or `give_up_after` failures in a row."""
    result = HealthResult(url, required)
    failures = 0
    while not result.healthy and failures < give_up_after:
        verdict = health_verdict(fetch(url))
        result.checks.append(verdict or "healthy")
        result.passes, failures = (result.passes + 1, 0) if verdict is None else (0, failures + 1)
        if not result.healthy and failures < give_up_after:
            sleep(interval)
    return result


@dataclass(frozen=True)
class PostDeployResult:
    """Post-deploy tests: each problem found (none: passed)."""

    health: str | None
    openapi_url: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "openapi_url": self.openapi_url,
                "problems": list(self.problems)}


@dataclass(frozen=True)
class PostDeployChecks:
    """What the post-deploy tests ask of the service (from the deploy settings)."""

    health_path: str
    openapi_path: str
    required_paths: Sequence[str]
    required_components: Sequence[str] = ()


def post_deploy_tests(fetch: Fetch, base_url: str, checks: PostDeployChecks) -> PostDeployResult:
    answer = fetch(base_url + checks.health_path)
    health = health_verdict(answer)
    problems = [f"health endpoint: {health}"] if health else []
    problems += component_problems(answer, checks.required_components)
    problems += openapi_problems(fetch(base_url + checks.openapi_path), checks.required_paths)
    return PostDeployResult(health, base_url + checks.openapi_path, tuple(problems))


def component_problems(answer: Answer, required: Sequence[str]) -> list[str]:
    """Each required component the health document does not report UP (e.g. the database)."""
    if not required or not 200 <= answer.status < 300:
        return []
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    components = document.get("components") if isinstance(document, dict) else None
    if not isinstance(components, dict):
        return [f"health endpoint lists no components (required: {', '.join(required)})"]
    problems = []
    for name in required:
        entry = components.get(name)
        status = entry.get("status") if isinstance(entry, dict) else None
        if str(status).upper() != "UP":
            problems.append(f"health component {name} is {status or 'missing'}, not UP")
    return problems


def openapi_problems(answer: Answer, required_paths: Sequence[str]) -> list[str]:
    """What is wrong with the served OpenAPI document (empty: nothing)."""
    if answer.status != 200:
        return [f"API documentation: HTTP {answer.status or 'no answer'} {answer.error}".strip()]
    try:
        document = json.loads(answer.body)
    except ValueError as error:
        return [f"API documentation is not JSON: {error}"]
    try:
        validate(document)
    except OpenAPIValidationError as error:
        return [f"API documentation is not a valid OpenAPI document: {error.message}"]
    except Exception as error:
        return [f"API documentation could not be validated: {type(error).__name__}: {error}"]
    paths = document.get("paths") or {}
    return [f"API documentation lacks the required path {path}"
            for path in required_paths if path not in paths]
