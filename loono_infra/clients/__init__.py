"""Clients: one builder for AWS clients (real AWS or the sandbox), one GitHub client with
bounded retries, and the Checkov runner (its own virtualenv, JSON only, fails closed).

May import: core."""
