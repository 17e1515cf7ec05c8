"""The access window: computed here and nowhere else."""

import calendar
import zoneinfo
from datetime import datetime

from django.conf import settings


def add_months(moment: datetime, months: int) -> datetime:
    """Return the same wall-clock time `months` calendar months later, clamped to the month's last day.

    24 Oct + 2 months = 24 Dec; 31 Jan + 1 month = 28 (or 29) Feb.
    """
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def access_ends_at(*, starts_at: datetime, months: int, extended_until: datetime | None = None) -> datetime:
    """Return when access ends: the start plus the tier's months, or the extension if later.

    Months are counted on the site's calendar (settings.TIME_ZONE), so a run that starts at
    midnight on the 24th ends at midnight on the 24th, across daylight-saving changes too.
    """
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local_start = starts_at.astimezone(zone).replace(tzinfo=None)
    local_end = add_months(local_start, months).replace(tzinfo=zone)
    ends_at = local_end.astimezone(starts_at.tzinfo)
    if extended_until is not None and extended_until > ends_at:
        return extended_until
    return ends_at
