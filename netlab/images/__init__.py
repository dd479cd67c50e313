"""The programs pods run, since netlab cannot pull images.

`catalog.resolve` maps a container's image, command, args and ports to a `Program`: one of
the built-ins below, run as `python -m netlab.images <program> ...`, or the container's own
command run with host binaries. docs/images.md has the table.

- `agnhost` — Kubernetes' e2e test image: netexec, serve-hostname, connect, pause, dns-*.
- `web` — the stand-in for web images and for unknown images that declare ports.

Kept free of imports: every built-in process starts by importing this package.
"""
