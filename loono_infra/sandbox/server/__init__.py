"""The sandbox process's side: moto with fidelity fixes, the ECS agent, the load balancers,
the registry. Run as `python -m loono_infra.sandbox.server.main`; never imported by the library.

May import: the sandbox's client side (tls, processes), core."""
