"""The science view on real data: the plot of a real shared curve, and the explorer page following
a real broker's stream, checked in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.integration.streamkit import FAST_POLICY, Collector, Serve, topics_for
from varstream.inference import default_models_dir, load_classifier
from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.stream.kafka import KafkaConfig, ensure_topics
from varstream.stream.replay import replay, replay_curves
from varstream.view.explore import Explorer
from varstream.view.plot import prefix_history, render, save, star_view

pytestmark = pytest.mark.integration


def test_plot_of_a_real_curve_has_its_panels_and_series(asassn_dir, tmp_path):
    lc = next(open_dataset(asassn_dir).iter_lightcurves(ids={"J034950.80-235550.0"}))
    view = star_view(lc, prefix_history(lc, load_classifier(default_models_dir()), steps=6))
    fig = render(view)
    ax_lc, ax_fold, ax_prob = fig.axes[:3]
    assert ax_lc.yaxis_inverted() and ax_fold.yaxis_inverted()                 # brighter up
    labels = [t.get_text() for t in ax_lc.get_legend().get_texts()]
    assert any(t.startswith("V (") for t in labels) and any(t.startswith("g (") for t in labels)   # bands apart
    assert view.period == pytest.approx(0.4975, rel=1e-3) and "0.4975" in ax_fold.get_xlabel()
    assert len(ax_fold.get_lines()) == 4                                       # points and model, two cycles
    assert ax_prob.get_lines() and ax_prob.get_ylim() == (0.0, 1.0)
    assert "RRab" in [t.get_text() for t in ax_prob.get_legend().get_texts()]   # a class that reached 10 %
    path = save(view, tmp_path / "star.png")
    assert path.stat().st_size > 20_000


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: `make tools` (Debian's chromium package) installs it")
    return path


def _browser(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=8000", "--window-size=1280,1000",
           *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_explorer_follows_the_stream_in_a_real_browser(broker, asassn_dir, tmp_path):
    curves = replay_curves(asassn_dir, 2)
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("explore")
    ensure_topics(kafka, topics, 4)
    serve = Serve(broker.bootstrap, topics, tmp_path, *FAST_POLICY)
    collector = Collector(kafka, topics)
    explorer = Explorer("127.0.0.1", 0).start()
    explorer.attach(kafka, topics)
    try:
        report = replay(curves, kafka, topics.alerts, progress=False)
        assert collector.wait(report.observations, 240, [serve]), serve.output()[-3000:]
        deadline = time.time() + 30
        while time.time() < deadline and len(explorer.catalogue.rows) < 2:
            time.sleep(0.2)
        base = explorer.address
        with urllib.request.urlopen(base + "api/stars?sort=object_id&order=asc") as resp:
            stars = json.loads(resp.read())
        assert stars["total"] == 2 and [r["object_id"] for r in stars["rows"]] == sorted(report.observations)
        star = stars["rows"][0]["object_id"]
        with urllib.request.urlopen(base + "api/star/" + urllib.request.quote(star)) as resp:
            detail = json.loads(resp.read())
        assert detail["history"] and detail["latest"]["n_observations"] == report.observations[star]
        # the page, as a browser runs it: the table is filled by its script
        dom = _browser(base, tmp_path, "--dump-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert 'data-loaded="true"' in dom.stdout and all(oid in dom.stdout for oid in report.observations)
        # the non-periodic outcome has its own column, one cell per star ("–" for models without it)
        assert all(r["nonperiodic_probability"] == collector.latest[r["object_id"]]["nonperiodic_probability"]
                   for r in stars["rows"])
        assert ">not periodic</th>" in dom.stdout and dom.stdout.count('class="num nonper"') == 2
        star_dom = _browser(base + "star/" + urllib.request.quote(star), tmp_path, "--dump-dom")
        assert f"/api/star/{urllib.request.quote(star)}/plot.png" in star_dom.stdout
        assert "<th>not periodic</th>" in star_dom.stdout
        with urllib.request.urlopen(base + "api/star/" + urllib.request.quote(star) + "/plot.png") as resp:
            assert resp.headers["Content-Type"] == "image/png" and resp.read()[:8] == b"\x89PNG\r\n\x1a\n"
        for name, url in (("page", base), ("star", base + "star/" + urllib.request.quote(star))):
            shot = tmp_path / f"{name}.png"
            out = _browser(url, tmp_path, f"--screenshot={shot}")
            assert out.returncode == 0 and shot.stat().st_size > 10_000, out.stderr[-2000:]
            import matplotlib.image

            pixels = matplotlib.image.imread(shot)
            assert np.std(pixels) > 0.01                                     # not blank
    finally:
        explorer.close()
        collector.close()
        assert serve.stop() == 0
