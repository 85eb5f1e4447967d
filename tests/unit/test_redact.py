"""Secrets in plan documents are replaced by structure before anything stores or scans them;
text for humans gets a last net for every form a known secret takes."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from loono_infra.core.redact import REDACTED, redact_document, redacted_json, scrub

DOCUMENT: dict[str, Any] = {
    "variables": {"db_master_password": {"value": "s3cr3t-pa55"}, "region": {"value": "eu"}},
    "configuration": {"root_module": {"variables": {"db_master_password": {"sensitive": True},
                                                    "region": {}}}},
    "resource_changes": [{"address": "a.b", "change": {
        "after": {"password": "s3cr3t-pa55", "name": "db", "port": 5432,
                  "tags": {"token": "tok-123456", "Team": "db"}},
        "after_sensitive": {"password": True, "tags": {"token": True}},
        "before": None, "before_sensitive": False}}],
    "planned_values": {"root_module": {"resources": [{
        "values": {"password": "s3cr3t-pa55", "port": 5432},
        "sensitive_values": {"password": True}}]},
        "outputs": {"conn": {"sensitive": True, "value": "postgres://u:hidden-pw@h"}}},
    "output_changes": {"conn": {"after": "postgres://u:hidden-pw@h", "after_sensitive": True}},
}


def test_redacted_json_contains_no_secret_anywhere() -> None:
    text = redacted_json(DOCUMENT, {"extra-known-secret"})
    for secret in ("s3cr3t-pa55", "tok-123456", "hidden-pw"):
        assert secret not in text
    again = json.loads(text)
    assert again["planned_values"]["root_module"]["resources"][0]["values"]["password"] == REDACTED
    assert again["variables"]["region"]["value"] == "eu"
    assert again["resource_changes"][0]["change"]["after"]["tags"] == {"token": REDACTED,
                                                                       "Team": "db"}


def test_a_sensitive_number_is_redacted_and_the_json_stays_valid() -> None:
    document = {"resource_changes": [{"change": {
        "after": {"pin": 48151623, "port": 48151623, "short": 7},
        "after_sensitive": {"pin": True, "short": True}}}]}
    after = json.loads(redacted_json(document))["resource_changes"][0]["change"]["after"]
    assert after == {"pin": REDACTED, "port": 48151623, "short": REDACTED}


def test_an_identical_value_that_is_not_sensitive_stays() -> None:
    document = {"resource_changes": [{"change": {
        "after": {"password": "same-value", "name": "same-value"},
        "after_sensitive": {"password": True}}}]}
    after = redact_document(document)["resource_changes"][0]["change"]["after"]
    assert after == {"password": REDACTED, "name": "same-value"}


def test_a_known_secret_left_in_a_string_is_redacted_inside_it() -> None:
    document = {"resource_changes": [{"change": {"after": {"url": "jdbc://u:k3pt-s3cret@h"}}}]}
    after = redact_document(document, ["k3pt-s3cret"])["resource_changes"][0]["change"]["after"]
    assert after == {"url": f"jdbc://u:{REDACTED}@h"}


def test_scrub_catches_every_form_of_a_secret() -> None:
    secret = "p@ss w/rd+\"1"
    forms = [secret, base64.b64encode(secret.encode()).decode(),
             base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
             urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
             json.dumps(secret)[1:-1]]
    text = scrub(" | ".join(forms), [secret])
    assert all(form not in text for form in forms), text
    assert scrub("pw=abcdef abcd", ["abcd", "abcdef", "x"]) == f"pw={REDACTED} {REDACTED}"
    assert scrub("a x b", ["x"]) == "a x b"


# --- properties over generated plans ------------------------------------------------------

LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                   st.text(max_size=12))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)


@st.composite
def value_and_mask(draw: st.DrawFn) -> tuple[Any, Any]:
    """A value and a Terraform-shaped sensitivity mask for it (true marks a subtree)."""
    value = draw(VALUES)
    return value, draw(_mask_for(value))


def _mask_for(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, dict):
        return st.one_of(st.booleans(), st.fixed_dictionaries(
            {}, optional={k: st.deferred(lambda v=v: _mask_for(v)) for k, v in value.items()}))
    if isinstance(value, list):
        return st.one_of(st.booleans(), st.tuples(*[_mask_for(v) for v in value]).map(list))
    return st.booleans()


def _leaves(value: Any, mask: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...],
                                                                             Any, bool]]:
    """(path, leaf, sensitive) for every leaf of value."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(
            v, True if mask is True else (mask.get(k) if isinstance(mask, dict) else False),
            (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(
            v, True if mask is True else (mask[i] if isinstance(mask, list) and i < len(mask)
                                          else False), (*path, i))]
    return [(path, value, mask is True)]


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@settings(max_examples=200, deadline=None)
@given(st.lists(value_and_mask(), min_size=1, max_size=4))
def test_redaction_properties_over_generated_plans(changes: list[tuple[Any, Any]]) -> None:
    document = {"resource_changes": [{"change": {"after": v, "after_sensitive": m}}
                                     for v, m in changes]}
    text = redacted_json(document)
    redacted = json.loads(text)  # always valid JSON
    for (value, mask), item in zip(changes, redacted["resource_changes"], strict=True):
        after = item["change"]["after"]
        for path, leaf, sensitive in _leaves(value, mask):
            if sensitive:
                assert _at(after, path) == REDACTED  # no sensitive leaf survives
            else:
                assert _at(after, path) == leaf  # no other leaf changes
