"""Secrets in plan documents are replaced before anything stores or scans them."""

from __future__ import annotations

import json

from loono_infra.core.redact import REDACTED, redacted_json, sensitive_values

DOCUMENT = {
    "variables": {"db_master_password": {"value": "s3cr3t-pa55"}, "region": {"value": "eu"}},
    "configuration": {"root_module": {"variables": {"db_master_password": {"sensitive": True},
                                                    "region": {}}}},
    "resource_changes": [{"change": {
        "after": {"password": "s3cr3t-pa55", "name": "db", "tags": {"token": "tok-123456"}},
        "after_sensitive": {"password": True, "tags": {"token": True}},
        "before": None, "before_sensitive": False}}],
    "planned_values": {"root_module": {"resources": [{"values": {"password": "s3cr3t-pa55"}}]}},
    "output_changes": {"conn": {"after": "postgres://u:hidden-pw@h", "after_sensitive": True}},
}


def test_sensitive_values_are_found_from_every_mask() -> None:
    assert sensitive_values(DOCUMENT) == {"s3cr3t-pa55", "tok-123456",
                                          "postgres://u:hidden-pw@h"}


def test_redacted_json_contains_no_secret_anywhere() -> None:
    text = redacted_json(DOCUMENT, {"extra-known-secret"})
    for secret in ("s3cr3t-pa55", "tok-123456", "hidden-pw"):
        assert secret not in text
    again = json.loads(text)
    assert again["planned_values"]["root_module"]["resources"][0]["values"]["password"] == REDACTED
    assert again["variables"]["region"]["value"] == "eu"
