"""`clouder rehearse`: the pipeline end to end on this machine, against a local AWS emulator."""
