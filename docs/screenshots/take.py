"""Takes the README's screenshots from a running kechuang with the demo loaded (`make run`).

    make run &                                   # http://127.0.0.1:8000, the Tongzhou demo
    .venv/bin/python docs/screenshots/take.py    # writes docs/screenshots/*.png

Debian's Chromium (/usr/bin/chromium), driven by Playwright, signed in as the demo bureau
user, in Chinese and English, the first 1280 × 900 pixels of each page.
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
SHOTS = [
    ("dashboard-zh", "zh-CN", "/regions/320612/indicators/?period=2023H1"),
    ("enterprise-zh", "zh-CN", "/organisations/zhongkeyi-nantong/"),
    ("dashboard-en", "en-GB", "/regions/320612/indicators/?period=2023H1"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="bureau")
    parser.add_argument("--password", default="kechuang-demo")
    arguments = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, locale, path in SHOTS:
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900},
                                          base_url=arguments.url)
            page = context.new_page()
            page.goto("/accounts/login/")
            page.fill("input[name=username]", arguments.user)
            page.fill("input[name=password]", arguments.password)
            page.click("form.login button[type=submit]")
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)  # the charts' entry animation
            page.screenshot(path=HERE / f"{name}.png", full_page=False)
            print(f"{name}: {path}")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
