from django.urls import path

from . import views, webhooks

app_name = "payments"

urlpatterns = [
    path("checkout/<int:tier_id>/", views.checkout_start, name="checkout"),
    path("upgrade/<int:enrollment_id>/", views.upgrade_start, name="upgrade"),
    path("success/", views.checkout_success, name="success"),
    path("cancelled/", views.checkout_cancelled, name="cancelled"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
]
