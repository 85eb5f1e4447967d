"""The policy judge: the judged view of a plan, enforcement levels, overrides, one Decision.
Pure: the flow runs Checkov (flow/policy_scan.py)."""
