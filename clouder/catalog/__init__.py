"""The one place where versions and cloud facts are pinned."""
