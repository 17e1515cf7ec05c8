import zoneinfo

from django.utils import timezone


class UserTimezoneMiddleware:
    """Show every time in the logged-in user's own zone (the site's zone for visitors)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = getattr(request.user, "timezone", "") if request.user.is_authenticated else ""
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
