import pytest


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """allauth counts attempts in the cache, which outlives a test (and, on Redis, a test run)."""
    settings.ACCOUNT_RATE_LIMITS = False
