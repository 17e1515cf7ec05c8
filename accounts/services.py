"""Writes to a user's own account."""

from .forms import clean_zone
from .models import User


def set_timezone(*, user: User, zone: str) -> User:
    """Show the user every time in `zone` (an IANA name; anything else raises ValidationError, nothing saved)."""
    user.timezone = clean_zone(zone)
    user.save(update_fields=["timezone"])
    return user
