"""Reading a running cluster: smoke checks (``check``) and the status report (``status``)."""
