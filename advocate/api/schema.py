"""Shared pydantic types for the API's request and response models.

One validation layer: a request body is checked against its model (types,
required fields, enums, money, dates) before the view runs; the services then
apply the business rules they apply to the web forms. The same models describe
the API in its OpenAPI 3.1 document (``advocate.api.openapi``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

MONEY_PATTERN = r"^-?\d{1,10}(\.\d{1,2})?$"
MONEY_OUT_PATTERN = r"^-?\d+\.\d{2}$"


def _money_text(value: Any) -> Any:
    # Money travels as text: a JSON number (a binary float) is refused, so an
    # amount is never rounded on its way in.
    if isinstance(value, bool) or isinstance(value, int | float):
        raise ValueError('send money as a string with up to two decimals, e.g. "120.50"')
    if isinstance(value, str):
        return value.strip()
    return value


Money = Annotated[
    str,
    Field(
        pattern=MONEY_PATTERN,
        description='An amount in US dollars as a string with up to two decimals, e.g. "120.50".',
        examples=["120.50"],
    ),
    BeforeValidator(_money_text),
]
MoneyOut = Annotated[
    str,
    Field(pattern=MONEY_OUT_PATTERN, description="US dollars, two decimals.", examples=["120.50"]),
]


def _iso_date_text(value: Any) -> Any:
    # A date is text written YYYY-MM-DD (pydantic alone would also take a number of seconds).
    if not isinstance(value, str) or len(value.strip()) != 10:
        raise ValueError("is not a date written YYYY-MM-DD")
    return value.strip()


Date = Annotated[date, BeforeValidator(_iso_date_text), Field(description="YYYY-MM-DD")]


def _timestamp_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("is not a date and time in ISO 8601, e.g. 2026-03-02T14:30:00Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_timestamp_text)]
Id = Annotated[StrictInt, Field(ge=1, description="The id of one of the firm's own records.")]
Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(max_length=200)]


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is a 422, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def data(self) -> dict:
        """The fields the client sent, as JSON values (dates and money as strings)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Out(BaseModel):
    """A response body. Fields are listed; undeclared ones are refused by the schema check."""

    model_config = ConfigDict(extra="forbid")


class OpenOut(BaseModel):
    """A response whose listed fields are typed; further keys may follow (documented in the operation)."""

    model_config = ConfigDict(extra="allow")


T = TypeVar("T")


class Page(Out, Generic[T]):
    """A numbered page of a list."""

    items: list[T]
    page: int
    per_page: int
    total: int
    pages: int


class CursorPage(Out, Generic[T]):
    """A cursor-paginated list in a stable order. Follow ``next`` (a full URL) until it is null."""

    items: list[T]
    next: str | None = Field(description="The URL of the next page, or null on the last page.")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str | None = Field(default=None, description="The field, e.g. `lines[1].billed`.")
    message: str


class ErrorKind(BaseModel):
    kind: str
    count: int


class Error(Out):
    error: str
    details: list[ErrorDetail]
    total: int | None = Field(
        default=None, description="When the details are capped: how many problems in all."
    )
    shown: int | None = Field(default=None, description="How many of them `details` lists.")
    by_kind: list[ErrorKind] | None = Field(
        default=None, description="How many problems of each kind, most frequent first."
    )


class Ref(Out):
    id: int
    name: str


__all__ = [
    "Body",
    "CursorPage",
    "Error",
    "ErrorDetail",
    "Id",
    "Money",
    "MoneyOut",
    "OpenOut",
    "Out",
    "Page",
    "Ref",
    "ShortText",
    "StrictBool",
    "Text",
    "date",
    "datetime",
    "Decimal",
    "Date",
    "Timestamp",
]
