"""Cloud-neutral building blocks both clouds' constructs share (pure Python: no CDKTF import)."""
