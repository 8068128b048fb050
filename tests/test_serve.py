import io
import json
import logging
import shutil
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import soundfile as sf
from helpers import sine_dataset

from audiornn import data as dataset
from audiornn.jobs.effect_data import build_pairs
from audiornn.jobs.oneshot_data import build_oneshots
from audiornn.training.train import TrainConfig, train
from audiornn.web.server import App, Limits, serve

RATE = 8000
TINY = TrainConfig(window=128, burn_in=0, batch_size=4, epochs=1, steps_per_epoch=2)


def wav_bytes(x, rate=RATE):
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV")
    return buf.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    gen_ds = sine_dataset(tmp, seconds=(1.0, 1.0), freq=250.0, rate=RATE)
    train(gen_ds, tmp / "speech", options=dict(layers=1, units=8, embedding=4), train_cfg= TINY, verbose=0)
    t = np.arange(RATE) / RATE
    x = 0.5 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * t))
    sf.write(tmp / "dry.wav", x, RATE)
    sf.write(tmp / "wet.wav", np.tanh(3 * x), RATE)
    build_pairs([(tmp / "dry.wav", tmp / "wet.wav")], tmp / "fx_ds",
                        dataset.DataConfig(sample_rate=RATE))
    train(tmp / "fx_ds", tmp / "pedal", options=dict(layers=1, units=8, embedding=4, feedback=False,
                                                       head="classes"),
          train_cfg=TINY, verbose=0)
    rng = np.random.default_rng(0)
    for name, f in (("kick", 60.0), ("hat", 3000.0)):
        for k in range(3):
            n = int(0.1 * RATE)
            hit = np.sin(2 * np.pi * f * np.arange(n) / RATE) * np.exp(-np.arange(n) / 200)
            (tmp / "kit" / name).mkdir(parents=True, exist_ok=True)
            sf.write(tmp / "kit" / name / f"{k}.wav", hit * rng.uniform(0.5, 0.9), RATE)
    build_oneshots(tmp / "kit", tmp / "shot_ds", dataset.DataConfig(sample_rate=RATE),
                           attack=0.01, length=0.1)
    train(tmp / "shot_ds", tmp / "drums", options=dict(layers=1, units=8, embedding=4), train_cfg= TINY,
          verbose=0)
    return tmp


@pytest.fixture(scope="module")
def server(runs):
    app = App([runs / "speech", runs / "pedal", runs / "drums"],
              Limits(max_seconds=30, max_count=16, max_upload_mb=0.5, queue=3))
    httpd = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield app, url
    httpd.shutdown()
    httpd.server_close()
    app.close()


def call(url, method="GET", body=None):
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def post_json(base, run, query="", body=None):
    status, ctype, data = call(f"{base}/api/runs/{run}/jobs?{query}", "POST",
                               b"" if body is None else body)
    assert ctype == "application/json"
    return status, json.loads(data)


def wait(base, job_id, timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        job = json.loads(call(f"{base}/api/jobs/{job_id}")[2])
        if job["state"] in ("done", "error"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_runs_are_listed_with_their_jobs(server):
    _, base = server
    status, ctype, data = call(f"{base}/api/runs")
    info = json.loads(data)
    assert status == 200
    assert {r["id"]: r["job"] for r in info["runs"]} == {
        "speech": "generate", "pedal": "effect", "drums": "oneshot"}
    drums = next(r for r in info["runs"] if r["id"] == "drums")
    assert drums["labels"] == ["hat", "kick"] and drums["hit_seconds"] == 0.1
    m = drums["map"]  # the one-shots' map: every training hit's point and label
    assert m["dim"] == 2 and len(m["points"]) == 4 and {p["label"] for p in m["points"]} == {"hat", "kick"}
    assert all("map" not in r for r in info["runs"] if r["id"] != "drums")
    assert info["limits"] == {"max_seconds": 30, "max_count": 16, "max_upload_mb": 0.5, "queue": 3,
                              "max_prime_seconds": 30.0, "max_job_seconds": 300.0}
    status, ctype, page = call(base + "/")
    assert status == 200 and ctype.startswith("text/html") and b"Generate" in page


@pytest.mark.parametrize("run,query,body,n,seconds", [
    ("speech", "seconds=0.25&seed=3", None, 1, 0.25),
    ("speech", "seconds=0.2&temperature=0.7", "prime", 1, 0.2),
    ("pedal", "decode=mean", "dry", 1, 0.5),
    ("drums", "label=kick&count=3", None, 3, 0.1),
    ("drums", "mix=kick%3D0.3%2Chat%3D0.7&count=2", None, 2, 0.1),
    ("drums", "at=0.5%2C-0.2&count=1", None, 1, 0.1),
    ("drums", "like=1&count=2&spread=0.2", "hit", 2, 0.1),
])
def test_each_job_returns_playable_wavs_and_pictures(server, run, query, body, n, seconds):
    _, base = server
    x = 0.4 * np.sin(np.arange(int(0.5 * RATE)) * 0.2)
    if body == "hit":
        x = x[:int(0.08 * RATE)] * np.exp(-np.arange(int(0.08 * RATE)) / 100)
    status, job = post_json(base, run, query, wav_bytes(x) if body else None)
    assert status == 202, job
    job = wait(base, job["id"])
    assert job["state"] == "done", job["error"]
    assert len(job["results"]) == n
    if "like" in query:  # the dropped hit's place on the map comes back with the job
        placed = job["params"]["placed"]
        assert len(placed["xy"]) == 2 and placed["label"] in ("hat", "kick")
    for r in job["results"]:
        status, ctype, data = call(base + r["wav"])
        assert status == 200 and ctype == "audio/wav"
        y, rate = sf.read(io.BytesIO(data))
        assert rate == RATE and len(y) == int(round(seconds * RATE))
        status, ctype, png = call(base + r["png"])
        assert status == 200 and ctype == "image/png" and png[:4] == b"\x89PNG"


@pytest.mark.parametrize("run,query,words", [
    ("speech", "seconds=31", "seconds must be in"),
    ("speech", "seconds=0", "seconds must be in"),
    ("speech", "seconds=abc", "not a number"),
    ("speech", "temperature=0", "temperature must be in"),
    ("speech", "seed=-1", "seed must be in"),
    ("drums", "count=17", "count must be in"),
    ("drums", "count=0", "count must be in"),
    ("drums", "label=snare", "unknown label"),
    ("drums", "mix=kick%3D-1", ">= 0"),
    ("drums", "at=1", "--at takes 2 finite numbers"),
    ("drums", "at=nan%2C0", "--at takes 2 finite numbers"),
    ("drums", "like=1", "needs a hit"),
    ("drums", "at=0%2C0&spread=5", "spread must be in"),
    ("pedal", "", "needs a dry audio file"),
    ("pedal", "decode=loud", "decode must be"),
    ("nope", "", "no run"),
])
def test_every_bound_gives_a_json_error(server, run, query, words):
    _, base = server
    status, err = post_json(base, run, query)
    assert status in (400, 404) and words in err["error"]


def test_upload_limit_and_corrupt_upload_keep_the_server_serving(server):
    _, base = server
    big = wav_bytes(np.zeros(int(0.6 * 2**20 / 2)))  # > 0.5 MB of 16-bit samples
    status, err = post_json(base, "pedal", "", big)
    assert status == 413 and "0.5 MB limit" in err["error"]
    status, err = post_json(base, "pedal", "", b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    assert status == 400 and err["error"].startswith("upload:")
    status, job = post_json(base, "speech", "seconds=0.1")
    assert status == 202 and wait(base, job["id"])["state"] == "done"


def test_no_run_directory_or_other_file_is_reachable(server, runs):
    _, base = server
    status, job = post_json(base, "speech", "seconds=0.1")
    job = wait(base, job["id"])
    for path in ("/files/../config.json", f"/files/{job['id']}/..%2Fconfig.json",
                 f"/files/{job['id']}/model.keras", f"/files/{job['id']}/upload.bin",
                 "/files/0123456789abcdef/00.wav", "/speech/config.json", "/api/runs/speech",
                 f"/files/{job['id']}/%2e%2e/%2e%2e/etc/passwd"):
        status, ctype, data = call(base + path)
        assert status == 404, path
        assert b"model" not in data and b"format" not in data


def test_twenty_concurrent_requests_respect_the_queue_bound(server):
    app, base = server
    app.gate.clear()  # hold the worker: one job taken, three queued, the rest refused
    try:
        results = []

        def one():
            results.append(post_json(base, "speech", "seconds=0.05"))

        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(results) == 20
        codes = sorted(s for s, _ in results)
        assert set(codes) <= {202, 429}
        assert codes.count(202) == 3 + 1  # the bound, plus the one the worker holds
        assert all("busy" in e["error"] for s, e in results if s == 429)
    finally:
        app.gate.set()
    for s, job in results:
        if s == 202:
            assert wait(base, job["id"])["state"] == "done"


def find_browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        return None
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None
    return chromium, driver


def open_page(server):
    """Headless Chromium on the server's page, once its runs are listed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    chromium, driver_path = find_browser()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1200,900", "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(driver_path), options=opts)
    browser.get(server[1] + "/")
    WebDriverWait(browser, 60).until(
        lambda b: len(Select(b.find_element(By.ID, "run")).options) == 3)
    return browser


@pytest.mark.skipif(find_browser() is None,
                    reason="Chromium, chromedriver or selenium is not installed "
                           "(.ci/run installs them with apt-get where it can)")
def test_page_in_headless_chromium(server, runs, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser = open_page(server)
    try:
        _, base = server
        wait = WebDriverWait(browser, 60)
        dry = tmp_path / "dry.wav"
        sf.write(dry, 0.4 * np.sin(np.arange(4000) * 0.1), RATE)
        for run, setup in (("speech", lambda: browser.find_element(By.ID, "seconds").clear()
                            or browser.find_element(By.ID, "seconds").send_keys("0.3")),
                           ("pedal", lambda: browser.find_element(By.ID, "dry").send_keys(str(dry))),
                           ("drums", lambda: (Select(browser.find_element(By.ID, "mode"))
                                              .select_by_value("blend")))):
            before = len(browser.find_elements(By.CSS_SELECTOR, ".result audio"))
            Select(browser.find_element(By.ID, "run")).select_by_value(run)
            setup()
            browser.find_element(By.ID, "go").click()
            wait.until(lambda b, n=before: len(b.find_elements(By.CSS_SELECTOR, ".result audio")) > n)
            assert "error" not in browser.find_element(By.ID, "status").get_attribute("class")
            duration = browser.execute_async_script("""
                const done = arguments[arguments.length - 1];
                const a = document.querySelector('.result audio');
                if (a.readyState >= 1) { done(a.duration); }
                else { a.addEventListener('loadedmetadata', () => done(a.duration));
                       a.addEventListener('error', () => done(-1)); a.load(); }""")
            assert duration > 0, run
            img = browser.find_element(By.CSS_SELECTOR, ".result img")
            assert browser.execute_script("return arguments[0].naturalWidth", img) > 0
            assert browser.find_element(By.CSS_SELECTOR, ".result a").get_attribute("download")
        assert len(browser.find_elements(By.CSS_SELECTOR, ".result")) >= 4  # recent results kept
    finally:
        browser.quit()


@pytest.mark.skipif(find_browser() is None,
                    reason="Chromium, chromedriver or selenium is not installed "
                           "(.ci/run installs them with apt-get where it can)")
def test_map_click_and_drop_in_headless_chromium(server, tmp_path):
    import base64

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser = open_page(server)
    try:
        _, base = server
        wait = WebDriverWait(browser, 60)
        Select(browser.find_element(By.ID, "run")).select_by_value("drums")
        canvas = browser.find_element(By.ID, "map")
        assert canvas.is_displayed()
        # The training hits are drawn: some pixels of the canvas are not blank.
        drawn = browser.execute_script("""
            const c = document.getElementById('map');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;""")
        assert drawn > 4 * 20
        # A click generates one hit at that point, and it is played.
        ActionChains(browser).move_to_element_with_offset(canvas, 40, -30).click().perform()
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".result audio")) == 1)
        assert "error" not in browser.find_element(By.ID, "status").get_attribute("class")
        assert "at (" in browser.find_element(By.CSS_SELECTOR, ".result .meta").text
        wait.until(lambda b: b.execute_script(
            "const a = document.querySelector('.result audio'); return a.readyState >= 1 && a.duration > 0"))
        # A WAV dropped on the page is placed on the map; its variations appear.
        browser.find_element(By.ID, "count").clear()
        browser.find_element(By.ID, "count").send_keys("2")
        n = int(0.08 * RATE)
        hit = wav_bytes(0.5 * np.sin(np.arange(n) * 0.3) * np.exp(-np.arange(n) / 80))
        browser.execute_script("""
            const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'my-hit.wav', {type: 'audio/wav'}));
            const how = {dataTransfer: dt, bubbles: true, cancelable: true};
            document.body.dispatchEvent(new DragEvent('dragover', how));
            document.body.dispatchEvent(new DragEvent('drop', how));
            """, base64.b64encode(hit).decode())
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".result audio")) == 3)
        wait.until(lambda b: "placed near" in b.find_element(By.ID, "status").text)
        assert "like your hit" in browser.find_element(By.CSS_SELECTOR, ".result .meta").text
        assert browser.execute_script("return marks.filter((m) => m.placed).length") == 1
        browser.save_screenshot(str(tmp_path / "map.png"))
    finally:
        browser.quit()


def raw_status(base, request: bytes) -> int:
    import socket

    host, port = base.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request)
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


@pytest.mark.parametrize("headers,status", [
    (b"Content-Length: -1\r\n", 400),
    (b"Content-Length: abc\r\n", 400),
    (b"", 411),
    (b"Transfer-Encoding: chunked\r\n", 411),
    (b"Content-Length: 999999999\r\n", 413),
])
def test_content_length_is_checked_before_the_body_is_read(server, headers, status):
    _, base = server
    request = (b"POST /api/runs/speech/jobs?seconds=0.1 HTTP/1.1\r\nHost: x\r\n" + headers
               + b"\r\n" + b"x" * 1000)
    assert raw_status(base, request) == status


def test_errors_never_show_server_paths_and_primes_are_bounded(server):
    app, base = server
    nan = np.zeros(800, np.float32)
    nan[10] = np.nan
    buf = io.BytesIO()
    sf.write(buf, nan, RATE, format="WAV", subtype="FLOAT")
    status, err = post_json(base, "speech", "seconds=0.1", buf.getvalue())
    if status == 202:
        err = wait(base, err["id"])
        assert err["state"] == "error"
    text = json.dumps(err)
    assert str(app.workdir) not in text and "/tmp" not in text and "upload" in text
    long = wav_bytes(0.1 * np.sin(np.arange(31 * RATE) * 0.05))  # 31 s of prime, under 0.5 MB
    status, err = post_json(base, "speech", "seconds=0.1", long)
    assert status == 400 and "longer than a prime may be (30 s)" in err["error"]


def rude_close(sock) -> None:
    """Closes with a reset (SO_LINGER 0), as a browser tab that is shut mid-transfer."""
    import socket
    import struct

    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_client_disconnects_are_one_log_line_and_the_server_keeps_serving(server, caplog, capfd):
    import socket

    _, base = server
    host, port = base.rsplit("//", 1)[1].split(":")
    caplog.set_level(logging.INFO, logger="audiornn.serve")
    # mid-upload: the server is reading the body when the connection is reset
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(b"POST /api/runs/speech/jobs?seconds=0.1 HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 100000\r\n\r\n" + b"RIFF" + b"\0" * 1000)
    time.sleep(0.3)
    rude_close(s)
    # mid-answer: requests whose clients are gone before the reply is written
    for path in ("/", "/api/runs") * 10:
        s = socket.create_connection((host, int(port)), timeout=30)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        rude_close(s)
    deadline = time.monotonic() + 10
    while not any("went away" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    gone = [r.getMessage() for r in caplog.records if "went away" in r.getMessage()]
    assert gone and all("\n" not in m for m in gone), gone
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception occurred" not in out + err, err
    status, _, body = call(base + "/api/runs")
    assert status == 200 and "speech" in body.decode()
