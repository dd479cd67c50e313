"""netlab: Kubernetes' pod network model, built from real kernel objects on one Linux host."""

__version__ = "0.1.0"
