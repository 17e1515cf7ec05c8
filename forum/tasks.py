"""Celery tasks for forum email (see forum.notifications).

Tasks take ids and are safe to run twice: what each recipient has been told is marked in the database in
the transaction that sends their email, so a retry sends only what did not go out.
"""

from celery import shared_task

from courseweb.mail import MailTask

from . import notifications

# An hourly beat tick that waited in the broker past the next one is dropped: the next does the same work.
DIGEST_SWEEP_EXPIRES = 3300


@shared_task(base=MailTask)
def notify_new_post(post_id, *, new_thread=False):
    """Email the thread's subscribers (and staff, for a new thread, and those @mentioned) about a post.

    Retried on SMTP errors (see MailTask); in-process there is no broker to retry through: the post is
    saved, the email is lost.
    """
    return notifications.notify_new_post(post_id=post_id, new_thread=new_thread)


@shared_task(expires=DIGEST_SWEEP_EXPIRES)
def send_forum_digests():
    """Beat job (hourly): send the daily digests that are due. The next tick is the retry."""
    return notifications.send_digests()


@shared_task(expires=55)
def send_left_over_post_notifications():
    """Beat job: the notification emails of posts their task left unsent (the broker was down, the worker died)."""
    return notifications.notify_left_over()
