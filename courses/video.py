"""Turn a lesson's video source into something a page can play."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlparse

YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com"}
VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
TIMESTAMP = re.compile(r"^\s*\[?(?:(\d+):)?(\d{1,2}):(\d{2})(?:\.\d+)?\]?\s+(.*\S)\s*$")


@dataclass(frozen=True)
class Embed:
    kind: str  # "youtube" or "vimeo"
    url: str


def embed_for(url: str, *, start: int = 0) -> Embed | None:
    """Return a privacy-friendly embed for a YouTube or Vimeo URL, or None for anything else."""
    if not url:
        return None
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    if host in YOUTUBE_HOSTS:
        if host == "youtu.be":
            video_id = parsed.path.strip("/")
        elif parsed.path.startswith(("/embed/", "/shorts/", "/live/")):
            video_id = parsed.path.split("/")[2]
        else:
            video_id = parse_qs(parsed.query).get("v", [""])[0]
        if not VIDEO_ID.fullmatch(video_id):  # match() lets "$" accept a trailing newline
            return None
        params = {"rel": 0}
        if start:
            params["start"] = start
        return Embed("youtube", f"https://www.youtube-nocookie.com/embed/{video_id}?{urlencode(params)}")
    if host in VIMEO_HOSTS:
        numbers = [part for part in parsed.path.split("/") if part.isdigit()]
        if not numbers:
            return None
        suffix = f"#t={start}s" if start else ""
        return Embed("vimeo", f"https://player.vimeo.com/video/{numbers[0]}?dnt=1{suffix}")
    return None


@dataclass(frozen=True)
class TranscriptLine:
    seconds: int
    label: str
    text: str


def parse_transcript(text: str) -> list[TranscriptLine]:
    """Read a transcript of lines like "01:23 Text" (or "[1:02:03] Text"); other lines join the previous."""
    lines: list[TranscriptLine] = []
    for raw in (text or "").splitlines():
        match = TIMESTAMP.match(raw)
        if match:
            hours, minutes, seconds, words = match.groups()
            total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
            label = f"{int(hours)}:{int(minutes):02d}:{seconds}" if hours else f"{int(minutes)}:{seconds}"
            lines.append(TranscriptLine(total, label, words))
        elif raw.strip() and lines:
            last = lines[-1]
            lines[-1] = TranscriptLine(last.seconds, last.label, f"{last.text} {raw.strip()}")
        elif raw.strip():
            lines.append(TranscriptLine(0, "0:00", raw.strip()))
    return lines


def origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""


def content_sources(lesson, embed: Embed | None, *, media_sources: list[str]) -> dict[str, list[str]]:
    """The directives of a lesson page's Content Security Policy that name its video's host, in full: the embed's
    player (frame-src, else 'none') or a direct video URL's host added to `media_sources` (the site's own);
    nothing for an uploaded video (this site or its bucket)."""
    if embed is not None:
        return {"frame-src": [origin(embed.url)]}
    if lesson.video_url and not lesson.video_file and (host := origin(lesson.video_url)):
        return {"media-src": [*media_sources, host]}
    return {}
