"""Take the README screenshots of a running Courseweb and check each page with axe.

Start the demo (`make run`, which seeds it), then:

    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 [--quiz URL] [--full-page]

It logs in as the demo student (seed_demo prints the logins), saves a PNG of the landing page,
the course home, a lesson, a quiz (only when --quiz is given) and my courses (`/`) at 1280 and
375 px wide into docs/screenshots/, and prints for each page axe-core's serious and critical
findings and whether the page scrolls sideways (scrollWidth > clientWidth). Exit status 1 when
anything was found.
"""

import argparse
import sys
from pathlib import Path
from urllib.parse import urljoin

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as in tests/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}
BLOCKING = {"serious", "critical"}
DEMO_COURSE = "advanced-webrtc-architecture"
DEMO_LESSON = "webrtc-apis"
DEMO_LOGIN = ("student@example.com", "learn-webrtc-2026")
OUT = Path(__file__).resolve().parent / "screenshots"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="where the server runs, e.g. http://127.0.0.1:8000")
    parser.add_argument("--email", default=DEMO_LOGIN[0])
    parser.add_argument("--password", default=DEMO_LOGIN[1])
    parser.add_argument("--course", default=DEMO_COURSE, help="the course's slug")
    parser.add_argument("--lesson", default=DEMO_LESSON, help="the lesson's slug")
    parser.add_argument("--quiz", help="a quiz page's URL or path; no quiz screenshot without it")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--full-page", action="store_true", help="the whole page rather than the first screenful")
    parser.add_argument("--chromium", default=CHROMIUM)
    return parser.parse_args(argv)


def pages(args):
    """(name, path, logged in) of each page to take, in order."""
    wanted = [
        ("landing", f"/courses/{args.course}/", False),
        ("course-home", f"/courses/{args.course}/learn/", True),
        ("lesson", f"/courses/{args.course}/lessons/{args.lesson}/", True),
    ]
    if args.quiz:
        wanted.append(("quiz", args.quiz, True))
    wanted.append(("my-courses", "/", True))
    return wanted


def log_in(page, base_url, email, password):
    page.goto(urljoin(base_url, "/accounts/login/"))
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form[action$='/accounts/login/'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/accounts/login/" in page.url:
        raise SystemExit(f"Could not log in as {email}: is the demo seeded (make run)?")


def axe_findings(page):
    violations = Axe().run(page).response["violations"]
    return [
        f"[{found['impact']}] {found['id']}: {found['help']} – "
        + "; ".join(str(node["target"]) for node in found["nodes"][:5])
        for found in violations
        if found["impact"] in BLOCKING
    ]


def sideways_scroll(page):
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    if widths["scroll"] > widths["client"]:
        return [f"scrolls sideways: scrollWidth {widths['scroll']} > clientWidth {widths['client']}"]
    return []


def main(argv=None):
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    problems = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        for label, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce")
            page = context.new_page()
            logged_in = False
            for name, path, needs_login in pages(args):
                if needs_login and not logged_in:
                    log_in(page, args.base_url, args.email, args.password)
                    logged_in = True
                response = page.goto(urljoin(args.base_url, path))
                page.wait_for_load_state("networkidle")
                target = args.out / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=args.full_page)
                found = axe_findings(page) + sideways_scroll(page)
                status = response.status if response else "?"
                print(f"{name} at {width} px ({label}, {path} → HTTP {status}, {page.url}): {target.name}")
                for line in found:
                    print(f"  {line}")
                if not found:
                    print("  axe: no serious or critical finding; no sideways scroll")
                problems += len(found)
            context.close()
        browser.close()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
