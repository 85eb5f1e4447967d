"""The `loono-infra` command kept warm between a developer's commands.

client.py is the console script: it hands each command to a warm server (server.py), a
process that has imported typer, pydantic, rich and the flow once, and forks for every
command. Where no server can serve, the command runs in the client as it always did.
"""
