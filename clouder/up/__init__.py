"""`clouder up` and `clouder down`: the whole pipeline as one command, and its dry run."""
