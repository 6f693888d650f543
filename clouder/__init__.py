"""Clouder: self-managed Kubernetes clusters on AWS and Azure, from one typed spec."""

__version__ = "0.1.0"
