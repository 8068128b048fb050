"""Takes the README's screenshot of the web page (needs chromium, chromedriver, selenium).

  python scripts/screenshot_serve.py RUN [RUN ...] --out docs/serve.png

Starts `audiornn.serve` on a free port, opens the page in headless Chromium,
presses Generate on the first run (and on each one-shot run with a blend; on
a one-shot run with a map, clicks the map and drops `--drop HIT.wav` on the
page instead), and saves the page.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from audiornn.web.server import App, serve  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default="docs/serve.png")
    p.add_argument("--seconds", default="2")
    p.add_argument("--drop", help="one-shot runs with a map: a hit to drop on the page")
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
            if model.job.name == "effect":
                continue
            if model.job.name == "oneshot" and getattr(model.gen, "latent", None) is not None:
                n = len(b.find_elements(By.CSS_SELECTOR, ".result"))
                ActionChains(b).move_to_element_with_offset(
                    b.find_element(By.ID, "map"), 60, -70).click().perform()
                wait.until(lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, ".result")) > n)
                if args.drop:
                    b.find_element(By.ID, "count").clear()
                    b.find_element(By.ID, "count").send_keys("2")
                    with open(args.drop, "rb") as f:
                        data = base64.b64encode(f.read()).decode()
                    b.execute_script("""
                        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
                        const dt = new DataTransfer();
                        dt.items.add(new File([bytes], arguments[1], {type: 'audio/wav'}));
                        document.body.dispatchEvent(new DragEvent('drop', {dataTransfer: dt,
                            bubbles: true, cancelable: true}));""", data, os.path.basename(args.drop))
                    wait.until(lambda d: "placed near" in d.find_element(By.ID, "status").text)
                continue
            if model.job.name == "generate":
                b.find_element(By.ID, "seconds").clear()
                b.find_element(By.ID, "seconds").send_keys(args.seconds)
            if model.job.name == "oneshot" and len(model.labels) > 1:
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
