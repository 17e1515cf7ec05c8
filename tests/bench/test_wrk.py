"""The bench's arithmetic, offline: wrk's output read, slices merged, ratios taken from adjacent slices."""

import json
import math

import pytest

from bench import bench
from bench.wrk import MARKER, PERCENTILES, Slice, Slices, merged_percentile, parse_output


def uniform_slice(requests, low, high, seconds=1.0):
    """A slice whose latencies are spread evenly from `low` to `high` seconds."""
    points = [(p, low + (high - low) * p / 100) for p in PERCENTILES]
    return Slice(requests=requests, seconds=seconds, bytes=requests * 1000, errors=0, last_status=0, latency=points)


def wrk_output(**overrides):
    data = {
        "requests": 900, "duration_us": 1_500_000, "bytes": 900_000, "connect": 0, "read": 0, "write": 0,
        "status": 0, "timeout": 0, "non200": 0, "last_status": 0, "mean_us": 12_000,
        "latency_us": [[p, 10_000 + round(100 * p)] for p in PERCENTILES],
    }  # fmt: skip
    data.update(overrides)
    return "Running 1s test @ http://127.0.0.1:8000/\n  1 threads and 32 connections\n" + MARKER + json.dumps(data)


def test_parse_output_reads_the_done_line():
    one = parse_output(wrk_output())
    assert one.requests == 900
    assert one.rate == pytest.approx(600)
    assert one.mean_latency == pytest.approx(0.012)
    assert dict(one.latency)[99] == pytest.approx(0.0199)
    assert one.errors == 0


def test_parse_output_counts_failures_and_other_statuses_as_errors():
    one = parse_output(wrk_output(connect=1, timeout=2, non200=30, last_status=302))
    assert one.errors == 33
    assert one.last_status == 302


def test_parse_output_without_the_line_fails():
    with pytest.raises(ValueError, match="BENCH_JSON"):
        parse_output("unable to connect to 127.0.0.1:8000 Connection refused\n")


def test_percentiles_are_made_increasing():
    one = parse_output(wrk_output(latency_us=[[0, 5], [50, 10], [99, 8], [100, 20]]))
    assert [value for _, value in one.latency] == pytest.approx([5e-6, 1e-5, 1e-5, 2e-5])


def test_merged_percentile_of_one_slice_is_its_own():
    one = uniform_slice(1000, 0.010, 0.110)
    assert merged_percentile([one], 50) == pytest.approx(0.060)
    assert merged_percentile([one], 99) == pytest.approx(0.109)
    assert merged_percentile([one, one], 99) == pytest.approx(0.109)


def test_merged_percentile_weighs_slices_by_their_requests():
    fast = uniform_slice(9900, 0.010, 0.020)
    slow = uniform_slice(100, 1.000, 2.000)  # 1% of all requests, all slower than every fast one
    assert merged_percentile([fast, slow], 50) == pytest.approx(0.01505, abs=2e-4)
    assert merged_percentile([fast, slow], 98) == pytest.approx(0.0199, abs=2e-4)
    assert merged_percentile([fast, slow], 99.5) == pytest.approx(1.5, abs=0.02)
    assert merged_percentile([fast, slow], 100) == pytest.approx(2.0)
    # with equal weights the slow slice holds half of the requests
    assert merged_percentile([uniform_slice(100, 0.010, 0.020), slow], 75) == pytest.approx(1.5, abs=0.02)


def test_merged_percentile_skips_empty_slices():
    empty = Slice(requests=0, seconds=1.0, bytes=0, errors=0, last_status=0, latency=[])
    assert math.isnan(merged_percentile([empty], 99))
    assert merged_percentile([empty, uniform_slice(10, 0.0, 1.0)], 50) == pytest.approx(0.5)


def test_slices_add_up():
    slices = Slices([uniform_slice(100, 0.01, 0.02, seconds=1.0), uniform_slice(300, 0.01, 0.02, seconds=3.0)])
    assert slices.requests == 400
    assert slices.rate == pytest.approx(100)
    assert slices.kilobytes == pytest.approx(1000 / 1024)


def pages():
    page = bench.Page
    return [
        page("bare view, no cookie", "/bare/", "ok", "anonymous", ref="", key="bare-anon"),
        page("bare view, with cookie", "/bare/", "ok", "student", ref="bare-anon", key="bare"),
        page("landing, anonymous", "/c/", "C", "anonymous", ref="bare-anon", key="landing-anon"),
        page("lesson", "/c/l/", "L", "student", key="lesson"),
        page("search", "/c/s/", "S", "student", key="search"),
    ]


def test_schedule_puts_each_page_between_two_slices_of_its_reference():
    order = [page.key for page in bench.schedule(pages())]
    assert order == ["bare", "bare-anon", "landing-anon", "bare-anon", "bare", "lesson", "bare", "search", "bare"]


def test_ratio_uses_the_reference_slices_next_to_the_page():
    # bare slows down during the run: the lesson is compared with the bare slices around it, not the average
    rates = {0: 1000, 4: 1000, 6: 500, 8: 500}
    sequence = []
    for index, key in enumerate(page.key for page in bench.schedule(pages())):
        requests = {"bare-anon": 2000, "landing-anon": 200, "lesson": 100, "search": 50}.get(key, rates.get(index))
        sequence.append((key, uniform_slice(requests, 0.01, 0.02)))
    rows = {row.page.key: row for row in bench.rows_of(pages(), sequence)}
    assert rows["lesson"].ratio == pytest.approx(100 / 750)  # bare slices 4 and 6
    assert rows["search"].ratio == pytest.approx(50 / 500)  # bare slices 6 and 8
    assert rows["landing-anon"].ratio == pytest.approx(0.1)
    assert rows["bare"].ratio == pytest.approx(750 / 2000)
    assert rows["bare-anon"].ratio is None


def test_slice_length_follows_the_latency():
    assert bench.slice_seconds(latency=0.02, in_process_ms=2, connections=32, minimum=1) == 1
    assert bench.slice_seconds(latency=0.5, in_process_ms=20, connections=32, minimum=1) == 3
    assert bench.slice_seconds(latency=4.0, in_process_ms=150, connections=32, minimum=1) == bench.MAX_SLICE
    assert bench.slice_seconds(latency=None, in_process_ms=None, connections=32, minimum=2) == 2


def test_results_section_is_replaced_and_the_rest_kept():
    text = (
        "# Benchmark results\n\n## Launch day figures\n\nkept\n\n## Page speed\n\nold table\n\n## Later\n\nalso kept\n"
    )
    new = bench.replace_section(text, "## Page speed\n\nnew table\n")
    assert new == (
        "# Benchmark results\n\n## Launch day figures\n\nkept\n\n## Page speed\n\nnew table\n\n## Later\n\nalso kept\n"
    )
    first = bench.replace_section("# Benchmark results\n\n## Launch day figures\n\nkept\n", "## Page speed\n\nt\n")
    assert first == "# Benchmark results\n\n## Launch day figures\n\nkept\n\n## Page speed\n\nt\n"
    assert bench.replace_section(first, "## Page speed\n\nu\n") == first.replace("\nt\n", "\nu\n")


def test_errors_line_names_the_failing_pages():
    ok = bench.Row(pages()[3], Slices([uniform_slice(10, 0.01, 0.02)]), 0.5, 100.0)
    failed_slice = Slice(requests=10, seconds=1.0, bytes=0, errors=4, last_status=302, latency=[(0, 0.01), (100, 0.02)])
    failed = bench.Row(pages()[4], Slices([failed_slice]), 0.1, 100.0)
    assert bench.errors_line([ok]) == "Errors: none."
    assert bench.errors_line([ok, failed]) == "ERRORS: search 4 (statuses other than 200: [302])."
