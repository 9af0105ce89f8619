"""Request shapes of the equality-of-access endpoints (issue #18; docs/contract.md)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.enums import Channel, Line

Code = Annotated[str, StringConstraints(max_length=64)]


class EqualityCreate(BaseModel):
    """One conversation's optional answers: question -> code (api/domain/equality.py). Any question
    may be left out. Nothing else is accepted: no reference, conversation, name or number."""

    model_config = ConfigDict(extra="forbid")

    line: Line
    channel: Channel
    answers: dict[Annotated[str, StringConstraints(max_length=64)], Code | None] = Field(max_length=12)


class EqualityRecorded(BaseModel):
    recorded: bool
