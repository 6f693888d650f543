"""Services (stage 7): the catalog of system and core services, their dependency graph and the rollout.

``resolve(spec)`` lists the services a cluster gets; ``rollout(connect, spec, outputs, settings)`` rolls
them out along the graph; ``dry_run`` renders and validates them without a cluster.
"""
