"""Reading Terraform's "Error acquiring the state lock" into a holder, an age and an ID."""

from __future__ import annotations

from datetime import UTC, datetime

from loono_infra.core.errors import Diagnostic, StateLockedError
from loono_infra.core.terraform.locks import lock_in

DETAIL = """Error message: operation error DynamoDB: PutItem, https response error StatusCode:
400, ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        3f1c2b7e-9d5a-4e0b-8c61-0a2b4c6d8e1f
  Path:      loono-terraform-state-production/production/terraform.tfstate
  Operation: OperationTypeApply
  Who:       runner@fv-az123
  Version:   1.15.5
  Created:   2026-11-27 10:20:00.123456789 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time."""


def _locked(detail: str = DETAIL, summary: str = "Error acquiring the state lock") -> Diagnostic:
    return Diagnostic(severity="error", summary=summary, detail=detail)


def test_the_holder_its_operation_age_and_id_are_read() -> None:
    lock = lock_in([_locked()])
    assert lock is not None
    assert (lock.lock_id, lock.who, lock.operation) == (
        "3f1c2b7e-9d5a-4e0b-8c61-0a2b4c6d8e1f", "runner@fv-az123", "Apply")
    assert lock.created == datetime(2026, 11, 27, 10, 20, 0, 123456, tzinfo=UTC)
    assert lock.age_seconds(datetime(2026, 11, 27, 10, 23, 10, 123456, tzinfo=UTC)) == 190


def test_other_errors_and_a_lock_without_an_id_are_not_a_lock() -> None:
    assert lock_in([_locked(summary="Error refreshing state")]) is None
    assert lock_in([_locked(detail="Lock Info:\n  Who: someone")]) is None
    assert lock_in([]) is None


def test_the_message_names_holder_age_id_and_the_exact_unlock_command() -> None:
    error = StateLockedError("production", "3f1c2b7e-9d5a-4e0b-8c61-0a2b4c6d8e1f",
                             "runner@fv-az123", "Apply", 190.0)
    assert "locked by runner@fv-az123 (Apply, 3 min 10 s ago)" in error.message
    assert ("loono-infra unlock --env production --lock-id "
            "3f1c2b7e-9d5a-4e0b-8c61-0a2b4c6d8e1f") in error.message
    assert error.exit_code == 4
