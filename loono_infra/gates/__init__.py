"""The judges: pure functions from settings, scans, CODEOWNERS text and reviews to one Decision.

gates/policy judges Checkov's findings (levels, overrides, the judged plan view);
gates/owners judges who must approve and whether they did. They never run Terraform, read
GitHub, or import the flow, deploy or the sandbox (the flow hands them what they need).

May import: clients (types only), core."""
