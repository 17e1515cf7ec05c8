"""What the demo run's students have done by its third week: a quiz, progress, forum threads, an announcement and
a finished student's certificate. seed_demo calls these in its transaction; each does its part once.

Through the services where there are some (lessons completed, forum posts, publishing, issuing the certificate);
the quiz is built with the ORM, as the instructor builds it in the admin. Its attempts too: scored here the way
the quiz pages score them (right when exactly the correct choices are ticked).
"""

import uuid
from datetime import timedelta

from django.db.models import Max

from courses.models import Choice, LessonProgress, Question, Quiz, QuizAttempt
from courses.services import set_lesson_completed
from enrollment import announcements, certificates
from enrollment.models import Announcement, AnnouncementEmail, Certificate, Enrollment, Tier
from enrollment.services import enroll, get_or_create_student
from forum import services as forum
from forum.models import Board, Thread

QUIZ = {
    "title": "The basics: check yourself",
    "intro": "Four questions on section 1. You pass with 3 right, and you may retake it.",
    "pass_percent": 75,
    "questions": [
        (
            "What does WebRTC give you out of the box?",
            "WebRTC standardises the media and data path between peers. Signaling is left to you on purpose.",
            [("Real-time media and data between peers", True), ("A signaling protocol", False),
             ("A hosted service for calls", False)],
        ),
        (
            "Which of these are WebRTC browser APIs? (Tick every one that is.)",
            "`getUserMedia`, `RTCPeerConnection` and `RTCDataChannel` are the three you meet first. "
            "WebSocket is a separate API, often used for signaling.",
            [("getUserMedia", True), ("RTCPeerConnection", True), ("RTCDataChannel", True),
             ("WebSocket", False)],  # choices are plain text: no Markdown
        ),
        (
            "In a one-to-one call, what does the callee send back after receiving the offer?",
            "The callee answers the offer with its own session description: the answer.",
            [("An answer", True), ("Another offer", False), ("A TURN allocation", False)],
        ),
        (
            "Which of these use WebRTC in production today? (Tick every one that does.)",
            "All of them: video meetings, contact centres and telehealth are among the largest uses.",
            [("Video meetings", True), ("Contact centres", True), ("Telehealth", True)],
        ),
    ],
}  # fmt: skip

FINISHED = ("finished@example.com", "learn-webrtc-2026", "Zoë", "Łukasiewicz")
ANNOUNCEMENT = (
    "Week 3: signaling, and a question worth reading",
    "Welcome to week 3! This week is **signaling**: start with *Signaling alternatives*, and read the forum "
    "thread about the moment in *Call flows* where the offer goes out — it answers a question many of you "
    "will have.\n\nOffice hours are on Monday and Thursday as usual; bring your SDP questions.",
)


def build_quiz(course):
    """The first section's quiz, published: single- and multiple-choice questions with explanations."""
    section = course.sections.order_by("order", "id").first()
    quiz, created = Quiz.objects.get_or_create(section=section, defaults={
        "title": QUIZ["title"], "intro": QUIZ["intro"], "pass_percent": QUIZ["pass_percent"], "is_published": True,
    })  # fmt: skip
    if created:
        for position, (text, explanation, choices) in enumerate(QUIZ["questions"]):
            question = Question.objects.create(quiz=quiz, order=position, text=text, explanation=explanation)
            Choice.objects.bulk_create(
                Choice(question=question, order=order, text=choice, is_correct=correct)
                for order, (choice, correct) in enumerate(choices)
            )
    return quiz


def take_quiz(*, user, quiz, wrong: int, when):
    """Record an attempt with the first `wrong` questions answered wrong (the rest right), scored as submitted."""
    answers, wrong_ids = {}, []
    for position, question in enumerate(quiz.questions.prefetch_related("choices")):
        choices = list(question.choices.all())
        right = [choice.pk for choice in choices if choice.is_correct]
        if position < wrong:
            # One wrong choice ticked, or none where every choice is right.
            picked = [choice.pk for choice in choices if not choice.is_correct][:1]
            wrong_ids.append(question.pk)
        else:
            picked = right
        answers[str(question.pk)] = picked
    count = len(answers)
    correct = count - len(wrong_ids)
    score = round(100 * correct / count)
    return QuizAttempt.objects.create(
        user=user, quiz=quiz, submission=uuid.uuid4(), answers=answers, wrong_question_ids=wrong_ids,
        correct_count=correct, question_count=count, score_percent=score, passed=score >= quiz.pass_percent,
        submitted_at=when,
    )  # fmt: skip


def complete_lessons(*, user, lessons, first, step):
    """Complete the lessons in order, the first at `first`, one every `step` (once: a student with progress is left)."""
    if LessonProgress.objects.filter(user=user).exists():
        return False
    for position, lesson in enumerate(lessons):
        set_lesson_completed(user=user, lesson=lesson, completed=True, now=first + position * step)
    return True


def progress(*, course, quiz, officehours_student, run, now):
    """The office-hours student finished section 1 (failed the quiz once, then passed it) and started section 2."""
    lessons = list(course.lessons.in_syllabus_order())
    section_one = [lesson for lesson in lessons if lesson.section_id == quiz.section_id]
    started = complete_lessons(user=officehours_student, lessons=lessons[: len(section_one) + 2],
                               first=run.starts_at + timedelta(days=1, hours=3), step=timedelta(days=2))  # fmt: skip
    if started and not QuizAttempt.objects.filter(user=officehours_student, quiz=quiz).exists():
        done = run.starts_at + timedelta(days=1, hours=3) + (len(section_one) - 1) * timedelta(days=2)
        take_quiz(user=officehours_student, quiz=quiz, wrong=2, when=done + timedelta(hours=1))
        take_quiz(user=officehours_student, quiz=quiz, wrong=0, when=done + timedelta(hours=2))


def finished_student(*, course, quiz, run, now):
    """A student of the previous run who completed every lesson, passed the quiz and issued the certificate."""
    email, password, first, last = FINISHED
    user, created = get_or_create_student(email=email, first_name=first, last_name=last)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    standard = run.tiers.get(kind=Tier.Kind.STANDARD)
    enrollment = enroll(user=user, run=run, tier=standard, source=Enrollment.Source.ADMIN, send_email=False,
                        now=run.starts_at)  # fmt: skip
    lessons = list(course.lessons.in_syllabus_order())
    first_day = run.starts_at + timedelta(days=1)
    complete_lessons(user=user, lessons=lessons, first=first_day, step=timedelta(days=1, hours=12))
    if not QuizAttempt.objects.filter(user=user, quiz=quiz).exists():
        section_done = LessonProgress.objects.filter(user=user, lesson__section=quiz.section).aggregate(
            last=Max("completed_at")
        )["last"]
        take_quiz(user=user, quiz=quiz, wrong=0, when=section_done + timedelta(hours=1))
    if not Certificate.objects.filter(user=user, course=course).exists():
        certificates.issue(user=user, course=course, run=enrollment.run, name=f"{first} {last}",
                           now=now - timedelta(days=3))  # fmt: skip
    return user


def forum_threads(*, course, instructor, students, now):
    """Three threads of a run in its third week: a question at a video moment with an accepted answer, an open
    question with a student's reply, and feedback. Once: a course with threads is left as it is.

    Everyone involved has read them (so the notifications that follow the commit email nobody).
    """
    if Thread.objects.filter(course=course).exists():
        return
    sam, olivia, zoe = students
    questions = Board.objects.get(course=course, slug="questions")
    feedback = Board.objects.get(course=course, slug="feedback")
    call_flows = course.lessons.get(slug="call-flows")
    day = timedelta(days=1)

    moment = forum.start_thread(
        user=olivia, board=questions, lesson=call_flows, video_seconds=25, now=now - 9 * day,
        title="Why does the offer go out before any ICE candidate?",
        body="At this point of the video the offer is sent, but no candidates were gathered yet. "
        "Doesn't the other side need them first?",
    )  # fmt: skip
    answer = forum.reply(
        user=instructor, thread=moment, now=now - 9 * day + timedelta(hours=3),
        body="Good catch. With **trickle ICE** the offer goes out at once and the candidates follow one by one, "
        "as they are found: the call connects sooner. Without trickle ICE you wait for gathering to finish and "
        "send everything in the offer.",
    )  # fmt: skip
    forum.reply(user=olivia, thread=moment, now=now - 9 * day + timedelta(hours=5),
                body="That makes sense now, thank you!")  # fmt: skip
    forum.mark_answer(user=olivia, thread=moment, post=answer)

    turn = forum.start_thread(
        user=sam, board=questions, now=now - 4 * day, title="Do we need TURN if everyone is on the office network?",
        body="Our first users are all inside one company network. Can we skip the TURN server for now?",
    )  # fmt: skip
    forum.reply(
        user=olivia, thread=turn, now=now - 4 * day + timedelta(hours=6),
        body="We skipped it at first and got calls that never connected from guest Wi-Fi. I'd keep one running.",
    )  # fmt: skip

    thanks = forum.start_thread(
        user=zoe, board=feedback, now=now - 3 * day, title="Finished the course: thank you",
        body="The SDP lesson alone was worth it. The design patterns section is what I'll come back to.",
    )  # fmt: skip
    forum.reply(user=instructor, thread=thanks, now=now - 3 * day + timedelta(hours=2),
                body="Thank you, Zoë! Congratulations on finishing.")  # fmt: skip

    for thread in (moment, turn, thanks):
        forum.set_subscribed(user=instructor, thread=thread, subscribed=True)
        for user in (instructor, *students):
            forum.mark_read(user=user, thread=thread, at=now)


def announcement(*, run, instructor, standard_student, now):
    """The week's announcement to the current run, published; the standard student has dismissed it already.

    Published "before the demo existed": its emails are recorded as skipped, as the demo's pre-launch emails are.
    """
    title, body = ANNOUNCEMENT
    item, created = Announcement.objects.get_or_create(run=run, title=title, defaults={
        "body": body, "author": instructor, "created_at": now - timedelta(days=2, hours=1),
    })  # fmt: skip
    if not created:
        return item
    announcements.publish(announcement=item, now=now - timedelta(days=2))
    AnnouncementEmail.objects.filter(announcement=item, status=AnnouncementEmail.Status.QUEUED).update(
        status=AnnouncementEmail.Status.SKIPPED
    )
    announcements.dismiss(user=standard_student, announcement=item, now=now - timedelta(days=1))
    return item
