"""Who a request counts for in a rate limit (django-ratelimit's `key`): the user, else the client's address.

The address is allauth's reading of it, which trusts exactly the proxies BEHIND_PROXY names: behind nginx
every request comes from 127.0.0.1, and counting that would throttle every visitor together.
"""

from allauth.account.adapter import get_adapter


def user_or_client(group, request) -> str:
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{get_adapter(request).get_client_ip(request)}"
