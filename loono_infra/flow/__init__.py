"""The flow: plan/apply/destroy (pipeline), the gating step that feeds the judges
(gating, policy_scan, repository), where a run goes (targets), bootstrap and audit.

May import: gates, clients, the sandbox's client side, core."""
