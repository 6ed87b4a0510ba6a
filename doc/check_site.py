"""Open the built site in headless Chromium and fail on a blank page or a missing image.

For each page checked (the home page and gallery pages): every ``<img>`` must
point to a file that exists and is a picture with more than one colour; a
screenshot of the page, taken by Chromium, must not be blank (some share of
its pixels differ from the page's background). The screenshots are kept in
``<site>/../screenshots`` to look at.

Usage: python doc/check_site.py [doc/_build/html] [--chromium chromium]
"""

import argparse
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from matplotlib.image import imread

PAGES = ["index.html", "auto_examples/index.html",
         "auto_examples/plot_denoising_filters.html",
         "auto_examples/plot_mnist_embedding.html"]


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs).get("src", ""))


def _not_flat(path):
    pixels = imread(path)
    return pixels.size > 0 and float(np.ptp(pixels)) > 0


def check_images(page):
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    problems = []
    for src in parser.sources:
        if src.startswith(("http:", "https:", "data:")):
            continue
        target = (page.parent / src.split("#")[0].split("?")[0]).resolve()
        if not target.is_file() or target.stat().st_size == 0:
            problems.append(f"{page.name}: image {src} is missing")
        elif target.suffix.lower() == ".png" and not _not_flat(target):
            problems.append(f"{page.name}: image {src} is one flat colour")
    return parser.sources, problems


def screenshot(chromium, page, out):
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1280,1800",
                    f"--screenshot={out}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    pixels = imread(out)[..., :3]
    background = np.median(pixels.reshape(-1, 3), axis=0)
    differs = np.abs(pixels - background).max(axis=2) > 0.05
    return float(differs.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", nargs="?", default="doc/_build/html")
    parser.add_argument("--chromium", default=None)
    args = parser.parse_args()
    site = Path(args.site)
    chromium = args.chromium or next(
        (c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)),
        None)
    if chromium is None:
        sys.exit("check_site: no Chromium found (Debian: apt-get install chromium).")
    shots = site.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    problems = []
    for name in PAGES:
        page = site / name
        if not page.is_file():
            problems.append(f"{name}: not built")
            continue
        sources, found = check_images(page)
        problems += found
        out = shots / (name.replace("/", "_").replace(".html", ".png"))
        share = screenshot(chromium, page, out)
        print(f"{name}: {len(sources)} images, {share:.1%} of the screenshot's pixels "
              f"are not background ({out})")
        if share < 0.02:
            problems.append(f"{name}: the screenshot is blank ({share:.2%} not background)")
    if problems:
        sys.exit("check_site failed:\n  " + "\n  ".join(problems))
    print("check_site: every page drawn, every image present")


if __name__ == "__main__":
    main()
