"""wrk as the bench's load generator: one short run ("slice") of one page, and the merging of slices.

`run_slice()` runs `wrk` against one URL for a few seconds with a Lua script (SCRIPT) whose `done()` prints
one line of JSON: completed requests, the run's duration, bytes, wrk's error counts, the responses other
than 200 (counted in `response()`, per thread) and a fine set of latency percentiles. `Slices` adds slices
of one page up; `merged_percentile()` combines the percentiles of several slices into the percentile of
all their requests, each slice weighted by its request count. No Django here: tests/bench tests it offline.
"""

import bisect
import json
import shutil
import subprocess
from dataclasses import dataclass, field

MARKER = "BENCH_JSON "
# Percentiles wrk reports per slice (0 = the fastest request, 100 = the slowest): fine enough near the tail
# that merging slices gives p99 within a few tenths of a percentile.
PERCENTILES = [0, *range(1, 99), *(98 + k / 10 for k in range(10, 20)), 99.95, 99.99, 100]

SCRIPT = """
local threads = {}
local percentiles = {__PERCENTILES__}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  last_status = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    last_status = status
  end
end

function done(summary, latency, requests)
  local non200, last_status = 0, 0
  for _, thread in ipairs(threads) do
    non200 = non200 + (thread:get("non200") or 0)
    local status = thread:get("last_status") or 0
    if status ~= 0 then last_status = status end
  end
  local points = {}
  for _, p in ipairs(percentiles) do
    local value = latency:percentile(p)
    if p == 0 then value = latency.min elseif p == 100 then value = latency.max end
    table.insert(points, string.format("[%g,%d]", p, value))
  end
  local e = summary.errors
  io.write(string.format(
    "\\n__MARKER__{\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"connect\\":%d,\\"read\\":%d," ..
    "\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"non200\\":%d,\\"last_status\\":%d," ..
    "\\"mean_us\\":%.0f,\\"latency_us\\":[%s]}\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    non200, last_status, latency.mean, table.concat(points, ",")))
end
"""
SCRIPT = SCRIPT.replace("__PERCENTILES__", ", ".join(f"{p:g}" for p in PERCENTILES)).replace("__MARKER__", MARKER)


@dataclass
class Slice:
    """One wrk run of one page."""

    requests: int
    seconds: float
    bytes: int
    errors: int  # connect, read, write and timeout errors, plus responses other than 200
    last_status: int  # a status other than 200 seen in the slice, 0 if none
    latency: list  # (percentile 0..100, seconds), increasing
    mean_latency: float = 0.0  # seconds

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0


def parse_output(stdout):
    """The Slice of wrk's output (the JSON line that SCRIPT's done() prints)."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError(f"wrk printed no {MARKER.strip()} line:\n{stdout[-2000:]}")
    errors = data["connect"] + data["read"] + data["write"] + data["timeout"] + data["non200"]
    return Slice(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        bytes=data["bytes"],
        errors=errors,
        last_status=data["last_status"],
        mean_latency=data["mean_us"] / 1e6,
        latency=_increasing([(float(p), us / 1e6) for p, us in data["latency_us"]]),
    )


def _increasing(points):
    """The points with each latency at least the one before (a percentile never decreases)."""
    fixed, highest = [], 0.0
    for percentile, value in points:
        highest = max(highest, value)
        fixed.append((percentile, highest))
    return fixed


def _fraction_at_most(points, values, x):
    """Share of one slice's requests that took at most x seconds, interpolated between its percentiles."""
    j = bisect.bisect_right(values, x)
    if j == 0:
        return 0.0
    if j == len(values):
        return 1.0
    (p0, v0), (p1, v1) = points[j - 1], points[j]
    return (p0 + (p1 - p0) * (x - v0) / (v1 - v0)) / 100  # v0 <= x < v1


def merged_percentile(slices, percentile):
    """The `percentile` (0..100) latency of all the slices' requests together, in seconds.

    Each slice's distribution is known by its percentiles; the merged distribution is their mixture weighted
    by the slices' request counts. The answer is the smallest reported latency at which the mixture reaches
    `percentile`. For one slice it is that slice's own percentile.
    """
    slices = [one for one in slices if one.requests and one.latency]
    if not slices:
        return float("nan")
    total = sum(one.requests for one in slices)
    tables = [(one.requests / total, one.latency, [value for _, value in one.latency]) for one in slices]
    target = percentile / 100 - 1e-9
    for x in sorted({value for _, _, values in tables for value in values}):
        if sum(weight * _fraction_at_most(points, values, x) for weight, points, values in tables) >= target:
            return x
    return max(values[-1] for _, _, values in tables)


@dataclass
class Slices:
    """The slices of one page over a run."""

    items: list = field(default_factory=list)

    def add(self, one):
        self.items.append(one)

    @property
    def requests(self):
        return sum(one.requests for one in self.items)

    @property
    def seconds(self):
        return sum(one.seconds for one in self.items)

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self):
        return sum(one.errors for one in self.items)

    @property
    def statuses(self):
        return sorted({one.last_status for one in self.items if one.last_status})

    @property
    def kilobytes(self):
        """Bytes received per response (headers included), in KB."""
        return sum(one.bytes for one in self.items) / self.requests / 1024 if self.requests else 0.0

    def percentile(self, percentile):
        return merged_percentile(self.items, percentile)


def wrk_path():
    return shutil.which("wrk")


def run_slice(*, url, headers, seconds, connections, threads, script_path, timeout_seconds=10):
    """Run wrk once against `url` for `seconds` (whole seconds) and return its Slice."""
    command = [
        wrk_path() or "wrk",
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        f"--script={script_path}",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout_seconds + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with code {done.returncode}: {done.stderr.strip() or done.stdout[-1000:]}")
    return parse_output(done.stdout)
