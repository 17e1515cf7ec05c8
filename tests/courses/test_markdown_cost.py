"""Rendering Markdown takes time linear in the input, also for input typed to hurt.

Python-Markdown took quadratic time on runs of "[": 20,000 of them held a worker for about 70 s, and a
forum post could be that long. Each case runs in a child process with a deadline far above what a linear
parser needs here (well under a second) and far below what the quadratic one took.
"""

import subprocess
import sys

import pytest

PATHOLOGICAL = {
    "open brackets": '"[" * 20_000',
    "open brackets with text": '"[a" * 10_000',
    "open image brackets": '"![" * 10_000',
    "empty links never closed": '"[](" * 7_000',
    "emphasis": '"*a" * 10_000',
    "nested quotes": '"> " * 10_000',
}
DEADLINE_SECONDS = 15


@pytest.mark.parametrize("source", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_markdown_renders_well_inside_the_deadline(source):
    program = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings'); django.setup(); "
        f"from courses.markdown import render_markdown; html = render_markdown({source}); print(len(html))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=DEADLINE_SECONDS, check=True
    )
    assert int(result.stdout) > 0
