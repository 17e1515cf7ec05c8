"""Money as Stripe counts it: amounts in the currency's smallest unit (cents for USD, yen for JPY)."""

from decimal import ROUND_HALF_UP, Decimal

# Currencies Stripe counts in whole units (no cents): https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())


def minor_units(amount: Decimal, currency: str) -> int:
    """Return the amount in the currency's smallest unit, as Stripe counts it (cents for USD)."""
    factor = 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100
    return int((Decimal(amount) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_amount(amount: int, currency: str) -> str:
    """Return a Stripe amount (in the currency's smallest unit) as "400.00 USD"."""
    currency = (currency or "").upper()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {currency}".strip()
    return f"{amount // 100:,}.{amount % 100:02d} {currency}".strip()
