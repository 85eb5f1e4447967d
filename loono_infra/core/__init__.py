"""Core (the ground floor): settings, render, Terraform (engines, commands, plan models), the
provider supply, errors, redaction, the `.loono` workspace, plan records and decisions.

May import: nothing of loono_infra above it (only other core modules)."""
