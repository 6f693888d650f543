"""Day-2 lifecycle: upgrade one minor at a time, scale node pools, remove and repair nodes, prepare
runtime checkpointing, and clean up what controllers created in the cloud before a destroy.

Built on the bootstrap's phase manager and SSH pool (``clouder.bootstrap``) and on the Kubernetes client
wrapper (``clouder.kube``). Import the sub-modules directly; this package imports nothing heavy.
"""
