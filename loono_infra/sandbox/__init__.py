"""The embedded local AWS. Its client side (control, tls, processes, backend_image) is what the
library uses: start/find/stop the sandbox process, its TLS files, the test backend image.
The server side (sandbox/server) runs only inside the sandbox process.

Client side may import: core. The server side may import the client side and core."""
