import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from courseweb.mail import OutboxStatus
from courseweb.text import one_line


def timezone_choices():
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def default_timezone():
    return settings.TIME_ZONE


def normalize_email(email):
    """Return the address as stored: trimmed and lower-cased (emails compare case-insensitively)."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email__iexact=normalize_email(username))

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra_fields)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who logs in with their email address; no username."""

    username = None
    email = models.EmailField("email address", unique=True)
    timezone = models.CharField(
        "time zone",
        max_length=64,
        default=default_timezone,
        choices=timezone_choices,
        help_text="Times on the site are shown in this zone.",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        # Names appear in email subjects (@mentions): one line each.
        self.first_name, self.last_name = one_line(self.first_name), one_line(self.last_name)
        super().save(*args, **kwargs)

    @property
    def display_name(self):
        return self.get_full_name() or self.email


class AccountEmail(models.Model):
    """An account email (login code, password reset, verification) rendered in the request, kept until it is sent.

    The outbox row is written with the request, so an email whose task could not be queued (Redis down) or
    was lost with its worker goes with the beat sweep. The body holds a code or a link: it is blanked once sent.
    """

    Status = OutboxStatus

    to = models.JSONField()
    subject = models.CharField(max_length=300)
    from_email = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [models.Index(fields=["status", "queued_at"], name="account_email_outbox")]

    def __str__(self):
        return f"{self.subject} to {', '.join(self.to)}"
