"""write_report(): one self-contained HTML file that opens in headless Chromium and shows its figures."""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
import re
import shutil
import struct
import subprocess

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import pytest

import nerve as keras
from nerve.callbacks.history import History
from nerve.experiments import Comparison, RunResult, compare
from nerve.experiments import plots
from nerve.experiments.report import write_report

import compare_builders

COMPILE = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
TAG = "<b>&"  # a user's label that must come out escaped
DPI = 50
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)" alt="([^"]+)">')


def build(activation: str = "relu", tag: str = "") -> keras.Model:
    """seed0_mlp with a `tag` that only labels the run."""
    return compare_builders.seed0_mlp(activation, units=16)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    (x, y), (xt, yt) = keras.datasets.digits.load_data()
    x, xt = (x[:400] / 255.0).astype("float32"), (xt[:200] / 255.0).astype("float32")
    result = compare(build, {"activation": ["sigmoid", "relu"], "tag": [TAG]}, x, y[:400], epochs=4,
                     batch_size=64, compile=COMPILE, directory=tmp_path_factory.mktemp("study"),
                     record_gradients=True, verbose=0)
    return result, result.evaluate(xt, yt[:200])


@pytest.fixture(scope="module")
def report(study, tmp_path_factory):
    result, test_rows = study
    path = tmp_path_factory.mktemp("report") / "report.html"
    out = write_report(result, path, title=f"Activations {TAG}", test_results=test_rows,
                       notes="x < y & z\nsecond line", dpi=DPI)
    assert out == path
    return path, path.read_text(encoding="utf-8")


def _hand_made(**kwargs) -> Comparison:
    history = History.from_dict({"loss": [1.0, 0.5], "val_loss": [1.1, math.nan],
                                 "accuracy": [0.5, 0.7], "val_accuracy": [0.4, math.nan]})
    run = RunResult(name="a", params={"lr": 0.1}, history=history, monitor="val_loss", best_epoch=0,
                    time_s=1.25, n_params=1234)
    return Comparison(runs=[run], monitor="val_loss", metric="accuracy", **kwargs)


# ---------------------------------------------------------------------------- the file
def test_the_report_is_one_self_contained_file(report):
    path, text = report
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no PNGs, no temp file beside it
    assert text.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in text and '<meta charset="utf-8">' in text
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|file:)""", text, re.IGNORECASE)
    for outside in ("<script", "<link", "@import", "url(", "<iframe"):
        assert outside not in text.lower()
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_user_text_is_escaped(report, study):
    _, text = report
    result, _ = study
    assert TAG not in text
    for run in result.runs:
        assert TAG in run.name and html.escape(run.name) in text
    assert "<title>Activations &lt;b&gt;&amp;</title>" in text
    assert "x &lt; y &amp; z\nsecond line" in text


def test_title_date_version_settings_and_interrupted_banner(report):
    _, text = report
    assert f"nerve {keras.__version__}" in text
    assert datetime.date.today().isoformat() in text
    for label, value in [("Epochs", "4"), ("Batch size", "64"), ("Seed", "0"),
                         ("Validation", "last 20% of the training data")]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in text
    assert "<code>activation</code>: sigmoid, relu" in text and "<code>tag</code>: &lt;b&gt;&amp;" in text
    assert "Interrupted" not in text


def test_the_table_has_every_run_and_highlights_the_best(report, study):
    _, text = report
    result, _ = study
    for row in result.table():
        assert html.escape(row["run"]) in text
        for key in ("best_val_loss", "best_val_accuracy", "final_val_accuracy", "gap"):
            assert f"<td>{row[key]:.4g}</td>" in text
    best_rows = re.findall(r'<tr class="best">(.*?)</tr>', text)
    assert len(best_rows) == 1 and html.escape(result.best.name) in best_rows[0]


def test_test_results_mark_the_ensemble_row(report, study):
    _, text = report
    _, test_rows = study
    assert test_rows[-1]["run"] == "ensemble (2 runs)"
    ensemble = re.findall(r'<tr class="ensemble">(.*?)</tr>', text)
    assert len(ensemble) == 1 and "ensemble (2 runs)" in ensemble[0]
    for row in test_rows:
        assert f"<td>{row['accuracy']:.4g}</td>" in text


def test_each_run_has_its_diagnosis_gradients_and_checkpoint(report, study):
    _, text = report
    result, _ = study
    for run in result.runs:
        section = text.split(f"<h3>{html.escape(run.name)}", 1)[1].split("</section>", 1)[0]
        diagnosis = run.diagnose()
        assert diagnosis.findings
        for finding in diagnosis.findings:
            assert f'{html.escape(finding.kind)}</span>{html.escape(finding.message)}</li>' in section
        assert run.checkpoint and f"<code>{html.escape(run.checkpoint)}</code>" in section
        assert "Gradient norms" in section and len(IMG.findall(section)) == 2  # curves and gradients


def test_embedded_figures_are_pngs_of_the_intended_size(report, study):
    _, text = report
    result, _ = study
    images = IMG.findall(text)
    run = result.runs[0]
    expected = []
    for fig in (plots.plot_comparison(result.histories, metric="accuracy", dpi=DPI),
                plots.plot_history(run.history, monitor=run.monitor, dpi=DPI),
                plots.plot_gradient_norms(run.gradient_norms, dpi=DPI)):
        expected.append(tuple(round(v * DPI) for v in fig.get_size_inches()))
        plt.close(fig)
    assert len(images) == 1 + 2 * len(result.runs)
    shown = []
    for data, width, height, alt in images:
        png = base64.b64decode(data, validate=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[:2] == (int(height), int(width))
        assert pixels.std() > 0  # something is drawn
        assert alt.strip()
        shown.append((int(width), int(height)))
    assert shown[:3] == expected


def test_no_figure_is_left_open(study, tmp_path):
    result, _ = study
    before = plt.get_fignums()
    write_report(result, tmp_path / "r.html", dpi=20)
    assert plt.get_fignums() == before


# ---------------------------------------------------------------------------- other studies
def test_an_interrupted_study_without_runs_still_gets_a_report(tmp_path):
    text = write_report(Comparison(runs=[], interrupted=True), tmp_path / "r.html").read_text()
    assert 'class="banner"' in text and "Interrupted" in text
    assert "No finished runs" in text and "<img" not in text


def test_nan_values_missing_checkpoint_and_no_gradients(tmp_path):
    text = write_report(_hand_made(), tmp_path / "r.html", dpi=20).read_text()
    assert "<td>nan</td>" in text and "none (save_best=False)" in text
    assert "Gradient norms" not in text and len(IMG.findall(text)) == 2
    assert "<dt>lr</dt><dd>0.1</dd>" in text and "<dd>1,234</dd>" in text


def test_a_study_without_validation_is_diagnosed_on_its_loss(tmp_path):
    history = History.from_dict({"loss": [2.0, 1.5, 1.2], "accuracy": [0.3, 0.5, 0.6]})
    run = RunResult(name="no-val", params={}, history=history, monitor="val_accuracy", best_epoch=None,
                    time_s=0.5, n_params=10)
    text = write_report(Comparison(runs=[run], metric="accuracy", monitor="val_accuracy"), tmp_path / "r.html",
                        dpi=20).read_text()  # warnings are errors: no figure or diagnosis failed
    assert "no_validation</span>" in text and "Best run" not in text and len(IMG.findall(text)) == 2


def test_comparison_report_writes_atomically_into_its_directory(tmp_path):
    result = _hand_made(directory=str(tmp_path))
    first = result.report(dpi=20)
    assert first == tmp_path / "report.html"
    result.runs[0].name = "renamed"
    assert result.report(dpi=20) == first and "renamed" in first.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert first.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("dpi", [0, -5, "100", True])
def test_bad_dpi_is_refused(tmp_path, dpi):
    with pytest.raises(ValueError, match="dpi must be a positive number"):
        write_report(_hand_made(), tmp_path / "r.html", dpi=dpi)
    assert not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------------------- a real browser
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || (e.target && e.target.src) || e.type).slice(0, 200)), true);
window.addEventListener("load", () => {
  const images = Array.from(document.images, i => ({complete: i.complete, naturalWidth: i.naturalWidth,
    naturalHeight: i.naturalHeight, width: +i.getAttribute("width"), height: +i.getAttribute("height"),
    shownWidth: i.getBoundingClientRect().width, alt: i.alt}));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images, errors: window.__errors, title: document.title,
    overflow: document.documentElement.scrollWidth > window.innerWidth});
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


def test_the_report_opens_in_headless_chromium_and_shows_its_figures(report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium to open the report in: apt-get install chromium (Debian's package)")
    _, text = report
    page = tmp_path / "probe.html"  # the report plus a probe script run before its images load
    page.write_text(text.replace("<head>\n", "<head>\n" + PROBE + "\n", 1), encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--window-size=1200,900",
         "--enable-logging=stderr", "--v=0", "--dump-dom", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    page_log = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not page_log, page_log
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, f"the probe did not run; Chromium printed:\n{done.stdout[:500]}\n{done.stderr[-1500:]}"
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["errors"] == [] and probe["title"] == f"Activations {TAG}"
    assert not probe["overflow"], "the page is wider than a 1200 px window"
    assert len(probe["images"]) == len(IMG.findall(text)) == 5
    for image in probe["images"]:
        assert image["complete"] and image["alt"]
        assert (image["naturalWidth"], image["naturalHeight"]) == (image["width"], image["height"]) > (0, 0)
        assert 0 < image["shownWidth"] <= image["width"]
    screenshot = shot.read_bytes()
    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", screenshot[16:24]) == (1200, 900)
    assert mpimg.imread(io.BytesIO(screenshot), format="png").std() > 0
