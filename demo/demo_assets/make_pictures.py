"""Draw the demo's course image and instructor portrait (Pillow only, no outside material).

Run from the project: .venv/bin/python demo/demo_assets/make_pictures.py
"""

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent

random.seed(7)
W, H = 1600, 900
SCALE = 2
img = Image.new("RGB", (W * SCALE, H * SCALE))
px = ImageDraw.Draw(img)
top, bottom = (30, 27, 75), (67, 56, 202)
for y in range(H * SCALE):
    t = y / (H * SCALE)
    px.line([(0, y), (W * SCALE, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
# A mesh of peers and media servers: points on a loose grid, linked to near neighbours.
nodes = []
for gx in range(9):
    for gy in range(5):
        x = (gx + 0.5) * W / 9 + random.uniform(-60, 60)
        y = (gy + 0.5) * H / 5 + random.uniform(-50, 50)
        nodes.append((x * SCALE, y * SCALE))
links = set()
for i, a in enumerate(nodes):
    near = sorted(range(len(nodes)), key=lambda j: math.dist(a, nodes[j]))[1:4]
    for j in near:
        links.add(tuple(sorted((i, j))))
glow = Image.new("RGBA", img.size, (0, 0, 0, 0))
g = ImageDraw.Draw(glow)
for i, j in links:
    g.line([nodes[i], nodes[j]], fill=(165, 180, 252, 110), width=3 * SCALE)
hubs = random.sample(range(len(nodes)), 6)
for i in hubs:  # media servers: amber, with their streams
    for j in range(len(nodes)):
        if j != i and math.dist(nodes[i], nodes[j]) < 330 * SCALE and random.random() < 0.5:
            g.line([nodes[i], nodes[j]], fill=(251, 191, 36, 150), width=2 * SCALE)
img.paste(glow.filter(ImageFilter.GaussianBlur(1)), (0, 0), glow)
d = ImageDraw.Draw(img)
for i, (x, y) in enumerate(nodes):
    if i in hubs:
        r = 26 * SCALE
        d.ellipse((x - r * 1.8, y - r * 1.8, x + r * 1.8, y + r * 1.8), outline=(251, 191, 36), width=2 * SCALE)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(251, 191, 36))
    else:
        r = random.choice([9, 11, 13]) * SCALE
        d.ellipse((x - r, y - r, x + r, y + r), fill=(224, 231, 255), outline=(79, 70, 229), width=3 * SCALE)
img = img.resize((W, H), Image.LANCZOS)
img.save(HERE / "course-image.jpg", quality=82, optimize=True, progressive=True)

# The instructor: a drawn portrait (head and shoulders) on the brand's light indigo.
S = 480 * SCALE
p = Image.new("RGB", (S, S), (199, 210, 254))
d = ImageDraw.Draw(p)
for y in range(S):
    t = y / S
    d.line(
        [(0, y), (S, y)],
        fill=tuple(round(a + (b - a) * t) for a, b in zip((224, 231, 255), (165, 180, 252), strict=True)),
    )
c = S / 2
d.ellipse((c - 0.38 * S, 0.68 * S, c + 0.38 * S, 1.4 * S), fill=(67, 56, 202))  # shoulders
d.ellipse((c - 0.17 * S, 0.2 * S, c + 0.17 * S, 0.6 * S), fill=(49, 46, 129))  # head
d.polygon([(c - 0.1 * S, 0.7 * S), (c, 0.8 * S), (c + 0.1 * S, 0.7 * S)], fill=(251, 191, 36))  # collar
p = p.resize((480, 480), Image.LANCZOS)
p.save(HERE / "instructor.jpg", quality=85, optimize=True)
