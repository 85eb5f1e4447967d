"""`python -m loono_infra`: the console script (warm/client.py)."""

from loono_infra.warm.client import main

main()
