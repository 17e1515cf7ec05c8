"""courseweb.mail: rendering, the recipient's zone, the batch sender's one hand-over policy, the retry policy.

The batch tests hand real messages to a real SMTP server on 127.0.0.1 (the aiosmtpd `smtp_sink`), which
can end sessions early, refuse addresses for good, reject messages and fail for now.
"""

import email
import email.policy
import smtplib
import zoneinfo
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.core.mail import EmailMessage

from accounts.tasks import send_account_email
from courseweb import mail
from courseweb.text import one_line
from tests.workers import free_port


@pytest.fixture
def smtp(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    return smtp_sink


def message(to, subject="Hello"):
    return EmailMessage(subject=subject, body="Body.", to=[to])


def addresses(count):
    return [f"student{n}@example.com" for n in range(count)]


def received(sink):
    return [m["To"] for m in sink.messages]


# ---------------------------------------------------------------------------------------------------------
# Text, links, zones, rendering


def test_one_line_collapses_every_run_of_whitespace():
    assert one_line("  Line one\r\nBcc: all@example.com\t and  more \n") == "Line one Bcc: all@example.com and more"
    assert one_line(None) == ""


def test_links_are_absolute_from_site_url(settings):
    settings.SITE_URL = "https://courses.example.com"
    assert mail.absolute("/profile/") == "https://courses.example.com/profile/"


def test_the_recipient_zone_is_their_own_or_the_sites(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert mail.recipient_zone(SimpleNamespace(timezone="Asia/Tokyo")) == zoneinfo.ZoneInfo("Asia/Tokyo")
    assert mail.recipient_zone(SimpleNamespace(timezone="Mars/Olympus_Mons")) == berlin
    assert mail.recipient_zone(SimpleNamespace(timezone="")) == berlin
    assert mail.recipient_zone(SimpleNamespace()) == berlin


@pytest.fixture
def email_templates(settings, tmp_path):
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "hello.txt").write_text(
        "{% autoescape off %}{{ subject }} for {{ name }} at {{ when|time:'H:i' }} ({{ zone_name }})"
        "{% endautoescape %}\n"
    )
    (folder / "hello.html").write_text("<p>{{ subject }} for {{ name }} on {{ site_name }}</p>\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}]


def test_render_makes_a_one_line_subject_and_both_parts_in_the_zone(email_templates, settings):
    settings.SITE_NAME = "Courseweb"
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")

    rendered = mail.render("hello", to="ana@example.com", subject="Line one\r\nBcc: all@example.com",
                           context={"name": "Ana <b>", "when": datetime(2030, 1, 1, 12, 0, tzinfo=UTC)},
                           zone=tokyo, headers={"X-Courseweb-Email": "hello:1"})  # fmt: skip

    assert rendered.subject == "Line one Bcc: all@example.com"
    assert rendered.to == ["ana@example.com"]
    assert rendered.body == "Line one Bcc: all@example.com for Ana <b> at 21:00 (Asia/Tokyo)\n"
    assert rendered.alternatives[0] == ("<p>Line one Bcc: all@example.com for Ana &lt;b&gt; on Courseweb</p>\n",
                                        "text/html")  # fmt: skip
    assert rendered.message()["X-Courseweb-Email"] == "hello:1"  # serialises: no BadHeaderError


def test_a_message_id_is_the_same_for_the_same_row_and_its_own_for_every_other(email_templates, settings):
    settings.SITE_URL = "https://course.example.com"
    first = mail.message_id("officehours-change", 7, "2030-01-01T12:00:00+00:00")

    assert first == mail.message_id("officehours-change", 7, "2030-01-01T12:00:00+00:00")
    assert first.startswith("<") and first.endswith("@course.example.com>")
    assert first != mail.message_id("officehours-change", 8, "2030-01-01T12:00:00+00:00")
    assert first != mail.message_id("officehours-change", 7, "2030-01-02T12:00:00+00:00")  # a row id reused later
    rendered = mail.render("hello", to="ana@example.com", subject="Hi", context={"name": "Ana"}, message_id=first)
    assert rendered.message()["Message-ID"] == first


# ---------------------------------------------------------------------------------------------------------
# Stencils: one render for many recipients


def rendered_and_stencilled(name, *, to="ana@example.com", zone=None):
    """The same email made both ways: rendered for this recipient, and filled in from a stencil."""
    when = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    rendered = mail.render("hello", to=to, subject="Hi", context={"name": name, "when": when}, zone=zone,
                           headers={"X-Courseweb-Email": "hello:1"})  # fmt: skip
    stencil = mail.Stencil("hello", subject="Hi", context={"name": mail.hole("name"), "when": when}, zone=zone)
    stencilled = stencil.message(to=to, values={"name": name}, headers={"X-Courseweb-Email": "hello:1"})
    return rendered, stencilled


def as_sent(message):
    """What a mail program reads of a message: its headers that do not change per send, and each part decoded."""
    parsed = email.message_from_bytes(message.message().as_bytes(linesep="\r\n"), policy=email.policy.default)
    headers = {name: str(parsed[name]) for name in ("Subject", "From", "To", "X-Courseweb-Email", "MIME-Version")}
    parts = [
        (part.get_content_type(), part["Content-Transfer-Encoding"], part.get_content()) for part in parsed.iter_parts()
    ]
    return headers, parts


@pytest.mark.parametrize("name", ["Ana", "Ana <b>&\"'", "Zoë 🎓", ""])
def test_a_stencilled_email_is_the_one_rendered_for_the_recipient(email_templates, name):
    rendered, stencilled = rendered_and_stencilled(name, zone=zoneinfo.ZoneInfo("Asia/Tokyo"))

    assert stencilled.subject == rendered.subject and stencilled.to == rendered.to
    assert stencilled.body == rendered.body  # the text part as it is,
    assert stencilled.alternatives == rendered.alternatives  # the HTML part escaped, as the template does
    assert as_sent(stencilled) == as_sent(rendered)


def test_a_stencilled_email_to_an_address_that_needs_encoding_is_still_the_same(email_templates):
    rendered, stencilled = rendered_and_stencilled("Ana", to="ana@bücher.example")

    assert as_sent(stencilled) == as_sent(rendered)


def test_a_stencil_refuses_a_template_that_changes_a_personal_value(email_templates, tmp_path):
    (tmp_path / "templates" / "email" / "shout.txt").write_text("{{ name|upper }}\n")
    (tmp_path / "templates" / "email" / "shout.html").write_text("<p>{{ name }}</p>\n")

    with pytest.raises(ValueError):
        mail.Stencil("shout", subject="Hi", context={"name": mail.hole("name")})


def test_stencilled_emails_reach_the_smtp_server_as_the_rendered_ones(email_templates, smtp):
    names = ["Ana", "Bo <i>", "Zoë"]
    with mail.Batch() as batch:
        for name in names:
            for made in rendered_and_stencilled(name, to=f"{len(name)}@example.com"):
                assert batch.send(made) is mail.Handed.SENT

    assert batch.sent == 6 and smtp.sessions == 1
    for rendered, stencilled in zip(smtp.messages[::2], smtp.messages[1::2], strict=True):
        for header in ("Subject", "From", "To", "X-Courseweb-Email"):
            assert stencilled[header] == rendered[header]
        assert stencilled["Message-ID"] != rendered["Message-ID"] and stencilled["Date"]
        assert [part.get_content() for part in stencilled.iter_parts()] == [
            part.get_content() for part in rendered.iter_parts()
        ]


def test_work_done_while_the_server_takes_a_message_runs_once_and_changes_no_answer(email_templates, smtp):
    stencil = mail.Stencil("hello", subject="Hi", context={"name": mail.hole("name"), "when": datetime.now(UTC)})
    to = addresses(7)
    smtp.unknown_recipients = {to[1]}  # refused at RCPT: the data never goes, nor does the work
    smtp.rejected_content = {to[3]}  # rejected after the data: the work was done meanwhile
    smtp.max_per_session = 4  # the last is answered 421 after its data: sent again on a new connection
    done = []

    with mail.Batch() as batch:
        results = [
            batch.send(stencil.message(to=address, values={"name": "Ana"}), meanwhile=lambda a=address: done.append(a))
            for address in to
        ]

    assert results == [mail.Handed.SENT, mail.Handed.REFUSED, mail.Handed.SENT, mail.Handed.REJECTED,
                       mail.Handed.SENT, mail.Handed.SENT, mail.Handed.SENT]  # fmt: skip
    assert done == [to[0], to[2], to[3], to[4], to[5], to[6]]  # once each, never for the refused address
    assert received(smtp) == [to[0], to[2], to[4], to[5], to[6]] and smtp.sessions == 2
    assert all(message.get_content_type() == "multipart/alternative" for message in smtp.messages)


# ---------------------------------------------------------------------------------------------------------
# The batch sender over a real SMTP server


def test_a_batch_opens_one_connection_at_the_first_message_and_none_when_empty(smtp):
    with mail.Batch():
        pass
    assert smtp.sessions == 0

    with mail.Batch() as batch:
        for to in addresses(5):
            assert batch.send(message(to)) is mail.Handed.SENT

    assert batch.sent == 5 and smtp.sessions == 1
    assert received(smtp) == addresses(5)


def test_a_server_that_ends_the_session_is_reconnected_and_gets_the_rest(smtp):
    smtp.max_per_session = 2

    with mail.Batch() as batch:
        results = [batch.send(message(to)) for to in addresses(5)]

    assert results == [mail.Handed.SENT] * 5
    assert received(smtp) == addresses(5) and smtp.sessions == 3


def test_one_bad_recipient_never_stops_the_others(smtp):
    refused, rejected = "gone@example.com", "spam-trap@example.com"
    smtp.unknown_recipients = {refused}
    smtp.rejected_content = {rejected}
    good = addresses(3)
    batch_of = [good[0], refused, good[1], "bad@example.com\nBcc: all@example.com", rejected, good[2]]

    with mail.Batch() as batch:
        results = [batch.send(message(to)) for to in batch_of]

    assert results == [mail.Handed.SENT, mail.Handed.REFUSED, mail.Handed.SENT, mail.Handed.MALFORMED,
                       mail.Handed.REJECTED, mail.Handed.SENT]  # fmt: skip
    assert [bool(result) for result in results] == [True, False, True, False, False, True]
    assert received(smtp) == good and batch.sent == 3 and smtp.sessions == 1


def test_a_temporary_failure_propagates_for_the_retry(smtp):
    smtp.fail_at = {2}  # the third message gets "451 try again later"

    with pytest.raises(smtplib.SMTPDataError) as failure, mail.Batch() as batch:
        for to in addresses(5):
            batch.send(message(to))

    assert failure.value.smtp_code == 451
    assert received(smtp) == addresses(2)


def test_a_server_that_rejects_every_message_stops_the_batch(smtp):
    smtp.rejected_content = set(addresses(5)[1:3]) | set(addresses(9)[5:])

    with pytest.raises(smtplib.SMTPDataError), mail.Batch() as batch:
        for to in addresses(9):
            batch.send(message(to))

    # Two rejected, then one sent (the count starts again), then three rejected in a row: stop.
    assert received(smtp) == [addresses(5)[0], addresses(5)[3], addresses(5)[4]]


def test_an_unreachable_server_propagates_and_nothing_is_sent(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    with pytest.raises(OSError), mail.Batch() as batch:
        batch.send(message("ana@example.com"))


# ---------------------------------------------------------------------------------------------------------
# The retry policy of mail tasks


def test_the_retry_backoff_is_jittered_and_capped_at_ten_minutes():
    waits = [mail.backoff(retries) for retries in range(20) for _ in range(20)]
    assert all(0 <= wait <= mail.MAX_BACKOFF for wait in waits)
    assert max(waits) > 60 and len(set(waits)) > 10


def test_in_process_a_mail_task_gives_up_instead_of_retrying(eager_celery, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    result = send_account_email.delay(subject="Code", body="1234", html="", from_email=None, to=["ana@example.com"])

    assert result.get() == 0  # no retry storm inside the request
    assert "accounts.tasks.send_account_email did not send everything" in caplog.text
    assert send_account_email.max_retries == mail.MAX_RETRIES


def test_a_mail_task_sends_through_the_batch(eager_celery, smtp):
    sent = send_account_email.delay(subject="Your code\r\n", body="1234", html="<p>1234</p>", from_email=None,
                                    to=["ana@example.com"])  # fmt: skip

    assert sent.get() == 1
    assert received(smtp) == ["ana@example.com"] and smtp.messages[0]["Subject"] == "Your code"
