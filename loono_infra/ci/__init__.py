"""GitHub Actions glue: the run's files (event, outputs, job summary), the PR report, drift."""
