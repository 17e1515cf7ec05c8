"""The look in a real browser: the landing page and course home pass axe and fit a phone, the enrol button stays
reachable on a phone, the syllabus's sections open from the keyboard, the pictures load, the favicon is there."""

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

from .helpers import DEMO_SLUG

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}
LANDING = f"/courses/{DEMO_SLUG}/"
COURSE_HOME = f"/courses/{DEMO_SLUG}/learn/"
WIDTHS = [(375, 740), (1280, 900)]


def axe_findings(page):
    violations = Axe().run(page).response["violations"]
    return [
        f"[{found['impact']}] {found['id']}: {found['help']} — {[node['target'] for node in found['nodes'][:5]]}"
        for found in violations
        if found["impact"] in BLOCKING
    ]


def sideways_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return [f"scrollWidth {widths[0]} > clientWidth {widths[1]}"] if widths[0] > widths[1] else []


def png(width, height, name):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (251, 191, 36)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def pictured(demo):
    """The demo course with a course image, an instructor photo and a bio, as the instructor sets them in the admin."""
    course = demo.course
    course.image = png(1600, 900, "course.png")
    course.image_alt = "A map of peers connected through a media server"
    course.instructor_photo = png(400, 400, "instructor.png")
    course.instructor_bio = "Builds real-time media products."
    course.save()
    return demo


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=[f"{width}px" for width, _ in WIDTHS])
def test_landing_page_and_course_home_pass_axe_and_do_not_scroll_sideways(
    live_server, page, pictured, log_in, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    problems = {}
    page.goto(live_server.url + LANDING)
    problems["landing"] = axe_findings(page) + sideways_scroll(page)
    page.locator("details.syllabus-section summary").nth(1).click()  # an open section must fit too
    problems["landing, a section open"] = axe_findings(page) + sideways_scroll(page)
    log_in(pictured.student)
    page.goto(live_server.url + COURSE_HOME)
    expect(page.get_by_test_id("progress-chart")).to_be_visible()
    problems["course home"] = axe_findings(page) + sideways_scroll(page)
    problems = {name: found for name, found in problems.items() if found}
    assert not problems, f"at {width} px: {problems}"


def test_on_a_phone_the_enrol_button_stays_in_view_and_leads_to_the_tiers(live_server, page, demo):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + LANDING)
    page.evaluate("window.scrollTo(0, (document.documentElement.scrollHeight - window.innerHeight) / 2)")
    page.wait_for_function("window.scrollY > 500")

    bar = page.get_by_test_id("enrol-bar")
    enrol = bar.get_by_role("link", name="Enrol")
    expect(enrol).to_be_in_viewport()
    expect(bar).to_contain_text("240.00 USD")

    # The bar covers nothing: at the very end of the page the footer is above it.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    footer_bottom = page.evaluate("document.querySelector('footer').getBoundingClientRect().bottom")
    bar_top = page.evaluate("document.querySelector('[data-testid=enrol-bar]').getBoundingClientRect().top")
    assert footer_bottom <= bar_top + 0.5

    page.evaluate("window.scrollTo(0, 0)")
    enrol.click()
    expect(page.get_by_role("heading", name="Enrol", exact=True)).to_be_in_viewport()
    expect(page.get_by_role("button", name="Enrol – 240.00 USD")).to_be_visible()


def test_on_a_desktop_the_tier_cards_show_and_the_phone_bar_does_not(live_server, page, demo):
    page.goto(live_server.url + LANDING)
    expect(page.get_by_test_id("enrol-bar")).to_be_hidden()
    expect(page.get_by_role("button", name="Enrol – 240.00 USD")).to_be_in_viewport()


def test_syllabus_sections_open_and_close_from_the_keyboard(live_server, page, demo):
    page.goto(live_server.url + LANDING)
    sections = page.locator("details.syllabus-section")
    first, second = sections.nth(0), sections.nth(1)
    expect(first).to_have_attribute("open", "")
    expect(second).not_to_have_attribute("open", "")
    lesson = second.get_by_text("TCP and UDP", exact=True)
    expect(lesson).to_be_hidden()

    # Tab from the first section's title reaches the second's (past the first's free-preview link).
    first.locator("summary").focus()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.querySelectorAll('details.syllabus-section summary')[1]"):
            break
    else:
        pytest.fail("Tab never reached the second section")
    page.keyboard.press("Enter")
    expect(second).to_have_attribute("open", "")
    expect(lesson).to_be_visible()
    page.keyboard.press("Space")
    expect(second).not_to_have_attribute("open", "")


def test_course_image_and_instructor_photo_load_with_their_alt_text(live_server, page, pictured):
    page.goto(live_server.url + LANDING)
    image = page.get_by_role("img", name="A map of peers connected through a media server")
    photo = page.get_by_role("img", name="Photo of Dana Rivers")
    for picture in (image, photo):
        expect(picture).to_be_visible()
        picture.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    assert image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [1600, 900]


def test_favicon_is_not_404(live_server, page, demo):
    response = page.request.get(live_server.url + "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    page.goto(live_server.url + LANDING)
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(live_server.url + href).status == 200
