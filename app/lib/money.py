"""Money is exact: `Decimal` in, `NUMERIC(14, 2)` stored, a JSON string out (`"1250.00"`).

Amounts arrive as JSON numbers or strings; both are read exactly (never through a float), and
an amount that would need rounding to fit two places is refused, however small (`1e-999999999`
is not zero).
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Annotated

import msgspec

from app.lib.errors import invalid_field

MAX_AMOUNT = Decimal("999999999999.99")
CENTS = Decimal("0.01")
_EXACT = Context(prec=28, traps=[Inexact, InvalidOperation])

Money = Annotated[
    Decimal,
    msgspec.Meta(
        description='An exact amount, at most 2 decimal places (e.g. `"1250.00"`).', examples=["1250.00"]
    ),
]
Currency = Annotated[
    str,
    msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case.", examples=["EUR"]),
]


def checked_amount(key: str, amount: Decimal) -> Decimal:
    """The amount with two places, or a 400 naming `key` (negative, too precise, too large, NaN)."""
    if not amount.is_finite():
        raise invalid_field(key, "must be a finite number")
    if amount < 0:
        raise invalid_field(key, "must not be negative")
    if amount > MAX_AMOUNT:
        raise invalid_field(key, f"must be at most {MAX_AMOUNT}")
    try:
        # Exact or nothing: the context traps any rounding (and so any underflow to zero).
        exact = amount.quantize(CENTS, context=_EXACT)
    except (Inexact, InvalidOperation):
        raise invalid_field(key, "has more than 2 decimal places") from None
    return exact + 0  # drops the sign of a negative zero
