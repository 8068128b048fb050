"""Takes the README's screenshot of the web page (needs chromium, chromedriver, selenium).

  python scripts/screenshot_serve.py RUN [RUN ...] --out docs/serve.png

Starts `audiornn.serve` on a free port, opens the page in headless Chromium,
presses Generate on the first run (and on each one-shot run with a blend),
and saves the page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from audiornn.serve import App, serve  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default="docs/serve.png")
    p.add_argument("--seconds", default="2")
    args = p.parse_args()
    app = App(args.runs)
    httpd = serve(app, "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,860"):
        opts.add_argument(a)
    b = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        b.get(f"http://127.0.0.1:{httpd.server_address[1]}/")
        wait = WebDriverWait(b, 300)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "run")).options) == len(args.runs))
        for run in reversed(list(app.models)):
            Select(b.find_element(By.ID, "run")).select_by_value(run)
            model = app.models[run]
            if model.job == "effect":
                continue
            if model.job == "generate":
                b.find_element(By.ID, "seconds").clear()
                b.find_element(By.ID, "seconds").send_keys(args.seconds)
            if model.job == "oneshot" and len(model.labels) > 1:
                Select(b.find_element(By.ID, "mode")).select_by_value("blend")
                b.find_element(By.ID, "count").clear()
                b.find_element(By.ID, "count").send_keys("2")
            n = len(b.find_elements(By.CSS_SELECTOR, ".result"))
            b.find_element(By.ID, "go").click()
            wait.until(lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, ".result")) > n)
        b.save_screenshot(args.out)
        print(f"wrote {args.out}")
    finally:
        b.quit()
        httpd.shutdown()
        app.close()


if __name__ == "__main__":
    main()
