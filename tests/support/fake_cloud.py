"""A cloud no stage knows: registering it as ``support.fake_cloud:<anything>`` makes the stage that asks for
its code raise :class:`Asked`, naming what the stage looked up."""

from __future__ import annotations


class Asked(Exception):
    """A stage asked the fake cloud for its part."""


def __getattr__(name: str) -> object:
    if name.startswith("__"):  # import machinery, pytest's introspection
        raise AttributeError(name)
    raise Asked(name)
