"""Bootstrap stage: SSH to the nodes, run kubeadm in small durable phases, fetch the admin kubeconfig.

``bootstrap(spec, outputs, options)`` is the entry point; everything here reads only the spec and the
outputs contract. asyncssh is imported by ``clouder.hosts.ssh`` only, so importing this package is cheap.
"""

from __future__ import annotations

from clouder.hosts.options import BootstrapOptions, SshOptions

__all__ = ["BootstrapOptions", "SshOptions"]
