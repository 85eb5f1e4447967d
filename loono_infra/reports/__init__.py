"""Presentation: every human rendering — terminal (rich), Markdown (jinja2 templates in
reports/templates), deploy progress and status. The CLI prints only what these return.

May import: flow, deploy, gates, clients, sandbox client side, core."""
