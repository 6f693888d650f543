"""The nodes as SSH hosts, for the bootstrap and the day-2 commands alike: the SSH pool and its host keys,
the run's options, the lock on the first control plane, secret scrubbing, and the phase manager (k0sctl
style: small named phases that probe a host before they act on it).

asyncssh is imported by ``clouder.hosts.ssh`` only, so importing this package is cheap.
"""
