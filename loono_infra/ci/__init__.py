"""Presentation for GitHub Actions: the run's files (event, outputs, job summary), the PR
report and comment, drift.

May import: flow, deploy, gates, clients, core."""
