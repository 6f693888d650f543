"""Optional text fields refuse blank text, which would switch their feature on with nothing in it."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic.fields import FieldInfo

from clouder.contexts import model as contexts_model
from clouder.spec import model as spec_model
from clouder.spec.types import OptionalText, SpecModel

MODELS = [
    value
    for module in (spec_model, contexts_model)
    for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, SpecModel) and value.__module__ == module.__name__
]


def _refuses_blank(field: FieldInfo) -> bool:
    """The field's own pattern refuses "" and " " before any validator runs."""
    patterns = [getattr(item, "pattern", None) for item in field.metadata]
    return any(p is not None and not re.search(p, "") and not re.search(p, " ") for p in patterns)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_optional_text_fields_are_optional_text(model: type[SpecModel]) -> None:
    for name, field in model.model_fields.items():
        if field.default is None and field.annotation == str | None and not _refuses_blank(field):
            pytest.fail(f"{model.__name__}.{name} is `str | None`: declare it `OptionalText | None`")


def test_optional_text_is_the_blank_check() -> None:
    hints = typing.get_type_hints(spec_model.S3State, include_extras=True)
    assert hints["dynamodb_table"] == OptionalText | None
    with pytest.raises(ValueError, match="is empty; leave the field out"):
        spec_model.NodePool.model_validate({"name": "a", "count": 1, "size": " "})
