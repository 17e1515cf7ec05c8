"""URLconf for the benchmark only: the product's URLs plus a bare view that measures the framework's floor."""

from django.http import HttpResponse
from django.urls import include, path


def bare(request):
    """The cheapest Django answer: the full middleware stack, no query, no template."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("", include("courseweb.urls")),
]
