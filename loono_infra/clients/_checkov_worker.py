"""One Checkov scan in a process that imported Checkov before it was asked (a warm start).

Run with Checkov's own interpreter (its virtualenv), isolated (-I: this folder holds a module
named checkov too), never importing loono_infra:
``python -I _checkov_worker.py``. Speaks JSON lines on stdin/stdout:

- worker: ``{"ready": true, "version": "3.3.30"}`` once Checkov is imported;
- parent: ``{"argv": [...]}``, Checkov's arguments (or nothing: end of input, the worker exits);
- worker: ``{"exit": N, "stdout": "..."}``, Checkov's exit code and everything it printed.

One scan, then it exits: Checkov keeps global state, so a process never scans twice.
"""

import contextlib
import io
import json
import sys
import warnings


def main() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from checkov.main import Checkov
        from checkov.version import version
    sys.stdout.write(json.dumps({"ready": True, "version": version}) + "\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    argv = json.loads(line)["argv"]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = Checkov(argv=argv).run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    sys.stdout.write(json.dumps({"exit": 0 if code is None else code,
                                 "stdout": printed.getvalue()}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
