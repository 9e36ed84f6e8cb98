"""write_report(): a comparison as one self-contained HTML file.

The file needs nothing else to open: the style sheet is inline, the figures
are PNG images embedded as `data:` URIs, and there is no script, font or
link to fetch. It opens offline, from a mail attachment, or in a headless
browser. Everything that comes from the user (run names, parameters, notes,
paths) is HTML-escaped.

Sections: the title and its date and nerve version; an "interrupted" banner
when Ctrl-C stopped the study; notes; the shared settings; the table (best
run highlighted); every run's metric and loss on one figure; test
results (the ensemble row marked); then one section per run with its curves,
its diagnosis, its gradient norms (when recorded) and its checkpoint.

Writing the figures as PNG files is not done here: `Comparison.plot(path=...)`
does that.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import os
import struct
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nerve.experiments.results import format_cell

__all__ = ["write_report"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_CSS = """
:root { color-scheme: light; --fg: #1d2433; --muted: #5b6472; --line: #d9dee7; --head: #eef1f5;
        --best: #e6f4e8; --warn-bg: #fff4d6; --warn-line: #e0b84a; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: var(--fg);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.12em; margin: 28px 0 8px; }
h4 { font-size: 1em; margin: 16px 0 6px; }
p.meta, figcaption, .muted { color: var(--muted); }
p.meta { margin: 0 0 18px; }
.banner { background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 6px;
          padding: 10px 14px; margin: 16px 0; }
.notes { white-space: pre-wrap; border-left: 3px solid var(--line); padding: 2px 12px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: var(--head); font-weight: 600; white-space: normal; vertical-align: bottom; }
tr.best > * { background: var(--best); font-weight: 600; }
tr.ensemble > * { border-top: 2px solid var(--fg); font-style: italic; }
a { color: #1f4fb4; text-decoration: none; }
a:hover { text-decoration: underline; }
.badge, .kind { display: inline-block; font-size: .75em; font-weight: 600; font-style: normal;
                padding: 0 7px; border-radius: 9px; vertical-align: 1px; }
.badge { margin-left: 6px; background: #2e7d32; color: #fff; }
.badge.ensemble { background: #5b6472; }
.kind { min-width: 7em; text-align: center; margin-right: 8px; background: #e3e7ee; color: #2c3545; }
.kind.problem { background: #fde3e1; color: #9b1c1c; }
.kind.good { background: #dff3e3; color: #1e6b2d; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
ul.findings { list-style: none; padding: 0; margin: 6px 0; }
ul.findings li { margin: 5px 0; }
figure { margin: 14px 0; }
img { max-width: 100%; height: auto; border: 1px solid var(--line); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em;
       background: #f1f3f6; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
footer { margin-top: 40px; color: var(--muted); font-size: .85em; }
@media print { body { background: #fff; } main { padding: 0; } section.run { break-inside: avoid-page; } }
"""


def write_report(
    comparison: Any,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    test_results: Sequence[Mapping[str, Any]] | None = None,
    notes: str | None = None,
    dpi: float = 100,
) -> Path:
    """Write a comparison as one self-contained HTML file (figures embedded).

    Args:
        comparison: the `Comparison` returned by `compare` (or `Comparison.load`).
        path: the .html file to write (replaced atomically; folders are created).
        title: the page title (default "Comparison of N runs").
        test_results: rows from `comparison.evaluate(x_test, y_test)` to show
            as a test table, the ensemble row marked (default None: no table).
        notes: free text shown under the title, line breaks kept (default None).
        dpi: resolution of the embedded figures (default 100).

    Returns:
        The path of the report.

    Example:
        >>> result = compare(build, {"activation": ["sigmoid", "relu"]}, x, y, epochs=10)
        >>> write_report(result, "report.html", test_results=result.evaluate(x_test, y_test))
    """
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
        raise ValueError(f"write_report: dpi must be a positive number, e.g. 100. Received: dpi={dpi!r}")
    runs = list(comparison.runs)
    title = title or f"Comparison of {len(runs)} run{'s' if len(runs) != 1 else ''}"
    best = _best_name(comparison)
    anchors = {run.name: f"run-{i + 1}" for i, run in enumerate(runs)}

    from nerve import __version__

    now = datetime.datetime.now().astimezone()
    meta = [f"Generated {now:%Y-%m-%d %H:%M %Z}".rstrip(), f"nerve {__version__}",
            f"{len(runs)} run{'s' if len(runs) != 1 else ''}", f"best by {comparison.monitor}"]
    parts = [f"<h1>{_e(title)}</h1>", f'<p class="meta">{" · ".join(_e(m) for m in meta)}</p>']
    if comparison.interrupted:
        parts.append('<div class="banner" role="alert"><strong>Interrupted.</strong> The study was stopped '
                     "before every run finished; only the finished runs are shown.</div>")
    if notes:
        parts.append(f'<div class="notes">{_e(notes)}</div>')
    parts += ["<h2>Settings</h2>", _settings(comparison)]
    parts.append("<h2>Runs</h2>")
    if best is not None:
        top = comparison[best]
        parts.append(f'<p>Best run: <a href="#{anchors[best]}">{_e(best)}</a>, {_e(comparison.monitor)} '
                     f"{_e(_cell(top.value(top.monitor, top.best_epoch)))} at epoch {top.best_epoch + 1}.</p>")
    parts.append(_table(comparison.table(), best=best, anchors=anchors))
    if runs:
        metric = comparison.metric
        panels = f"{metric} (left) and loss (right)" if metric != "loss" else "loss"
        parts += ["<h2>Curves</h2>", _figure(
            lambda: _plots().plot_comparison(comparison.histories, metric=metric, dpi=dpi), dpi,
            alt=f"{panels} per epoch of every run: training solid, validation dashed",
            caption=f"{panels[0].upper()}{panels[1:]} of every run per epoch: training solid, validation dashed.")]
    if test_results:
        parts += ["<h2>Test results</h2>", _table(list(test_results), anchors=anchors, mark_ensemble=True)]
    if runs:
        parts.append("<h2>Each run</h2>")
    for run in runs:
        parts.append(_run_section(run, anchors[run.name], run.name == best, dpi))
    parts.append(f"<footer>Written by nerve {_e(__version__)} on {now:%Y-%m-%d}.</footer>")
    text = _page(title, "\n".join(parts))

    path = Path(path)
    from nerve.saving.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- page parts
def _page(title: str, body: str) -> str:
    from nerve import __version__

    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="nerve {_e(__version__)}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _settings(comparison: Any) -> str:
    settings = dict(comparison.settings or {})
    batch = settings.pop("batch_size", None)
    split = settings.pop("validation_split", "?")
    if split == "?":
        validation = "-"
    elif split is None:
        validation = "validation_data"
    else:
        validation = f"last {split:.0%} of the training data" if split else "none"
    items = [
        ("Epochs", _e(_cell(settings.pop("epochs", None)))),
        ("Batch size", _e(_cell(batch)) if batch is not None else "fit's default (32)"),
        ("Validation", _e(validation)),
        ("Seed", _e(_cell(settings.pop("seed", None)))),
        ("Monitor", f"<code>{_e(comparison.monitor)}</code>"),
        ("Metric", f"<code>{_e(comparison.metric)}</code>"),
    ]
    grid = settings.pop("grid", None) or [run.params for run in comparison.runs]
    labels = {"n_jobs": "Parallel runs"}
    items += [(labels.get(key, key.replace("_", " ").capitalize()), _e(_cell(value))) for key, value in settings.items()]
    if comparison.directory:
        items.append(("Directory", f"<code>{_e(comparison.directory)}</code>"))
    items.append(("Grid", _grid(grid)))
    return '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _grid(points: Sequence[Mapping[str, Any]]) -> str:
    """The values tried per parameter, e.g. 'activation: sigmoid, relu'."""
    from nerve.experiments.results import value_label

    tried: dict[str, list[str]] = {}
    for point in points:
        for key, value in point.items():
            label = value_label(value)
            if label not in tried.setdefault(str(key), []):
                tried[str(key)].append(label)
    if not tried:
        return "-"
    return "<br>".join(f"<code>{_e(k)}</code>: {_e(', '.join(v))}" for k, v in tried.items())


def _table(rows: Sequence[Mapping[str, Any]], *, best: str | None = None, anchors: Mapping[str, str],
           mark_ensemble: bool = False) -> str:
    if not rows:
        return '<p class="muted">No finished runs.</p>'
    columns: list[str] = []
    for row in rows:
        columns += [str(c) for c in row if str(c) not in columns]
    head = "".join(f'<th scope="col">{_e(c).replace("_", "_<wbr>")}</th>' for c in columns)  # may wrap at _
    body = []
    for row in rows:
        name = str(row.get(columns[0], ""))
        classes, badge = [], ""
        if name == best:
            classes, badge = ["best"], '<span class="badge">best</span>'
        elif mark_ensemble and name not in anchors:
            classes, badge = ["ensemble"], '<span class="badge ensemble">ensemble</span>'
        first = f'<a href="#{anchors[name]}">{_e(name)}</a>' if name in anchors else _e(name)
        cells = [f'<th scope="row">{first}{badge}</th>'] + [f"<td>{_e(_cell(row.get(c)))}</td>" for c in columns[1:]]
        attr = f' class="{" ".join(classes)}"' if classes else ""
        body.append(f"<tr{attr}>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _run_section(run: Any, anchor: str, is_best: bool, dpi: float) -> str:
    from nerve.experiments.results import value_label

    badge = '<span class="badge">best</span>' if is_best else ""
    facts = [(str(k), value_label(v)) for k, v in run.params.items()]
    best = run.best_epoch
    facts += [
        ("epochs trained", str(run.epochs)),
        ("best epoch", "-" if best is None else f"{best + 1} ({run.monitor} {_cell(run.value(run.monitor, best))})"),
        ("time", f"{run.time_s:.1f} s" if math.isfinite(run.time_s) else "-"),
        ("weights", f"{run.n_params:,}"),
    ]
    checkpoint = f"<code>{_e(run.checkpoint)}</code>" if run.checkpoint else "none (save_best=False)"
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    logged = run.history.history
    monitor = run.monitor if run.monitor in logged or run.monitor == "val_loss" else None  # val_loss falls back to loss
    parts = [f'<section class="run" id="{anchor}">', f"<h3>{_e(run.name)}{badge}</h3>",
             f'<dl class="facts">{rows}<dt>checkpoint</dt><dd>{checkpoint}</dd></dl>',
             _figure(lambda: _plots().plot_history(run.history, monitor=monitor, dpi=dpi), dpi,
                     alt=f"Training curves of {run.name}: loss and metrics per epoch",
                     caption="Loss and metrics per epoch: training solid, validation dashed."),
             "<h4>Diagnosis</h4>", _diagnosis(run)]
    if run.gradient_norms:
        parts += ["<h4>Gradient norms</h4>", _figure(
            lambda: _plots().plot_gradient_norms(run.gradient_norms, dpi=dpi), dpi,
            alt=f"Mean gradient norm of each layer per epoch, {run.name}",
            caption="Mean L2 norm of each layer's gradient per epoch (log scale).")]
    parts.append("</section>")
    return "\n".join(parts)


def _diagnosis(run: Any) -> str:
    logged = run.monitor in run.history.history
    try:
        diagnosis = run.diagnose() if logged else run.diagnose(monitor=None)  # None: val_loss, else loss
    except Exception as err:  # noqa: BLE001 - one bad run must not cost the whole report
        warnings.warn(f"write_report: could not diagnose run {run.name!r}: {err!r}", RuntimeWarning, stacklevel=4)
        return f'<p class="muted">The diagnosis failed: {_e(repr(err))}</p>'
    findings = list(getattr(diagnosis, "findings", []))
    counterfactuals = list(getattr(diagnosis, "counterfactuals", []))
    out = [_findings(findings) if findings else '<p class="muted">Nothing to report.</p>']
    if counterfactuals:
        out += ["<p>On this run's curve:</p>", _findings(counterfactuals)]
    return "\n".join(out)


def _findings(findings: Sequence[Any]) -> str:
    from nerve.experiments.diagnosis import PROBLEMS

    def tone(kind: str) -> str:
        return "problem" if kind in PROBLEMS else "good" if kind == "good_fit" else "note"

    items = "".join(f'<li><span class="kind {tone(f.kind)}">{_e(f.kind)}</span>{_e(f.message)}</li>'
                    for f in findings)
    return f'<ul class="findings">{items}</ul>'


# ---------------------------------------------------------------------------- figures
def _plots() -> Any:
    from nerve.experiments import plots

    return plots


def _figure(draw: Callable[[], Any], dpi: float, *, alt: str, caption: str) -> str:
    """Draw a figure, embed it as a PNG data URI with its pixel size, and close it."""
    try:
        fig = draw()
        try:
            data = _png(fig, dpi)
        finally:
            _close(fig)
    except Exception as err:  # noqa: BLE001 - one bad figure must not cost the whole report
        warnings.warn(f"write_report: could not draw the figure '{alt}': {err!r}", RuntimeWarning, stacklevel=3)
        return f'<p class="muted">Figure not available ({_e(alt)}): {_e(repr(err))}</p>'
    width, height = _png_size(data)
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (f'<figure><img src="{uri}" width="{width}" height="{height}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _png(fig: Any, dpi: float) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"savefig.bbox": "standard"}):  # the size stays figsize × dpi
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("write_report: matplotlib did not return a PNG image.")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _close(fig: Any) -> None:
    """Release a figure that pyplot tracks (a plain `Figure` needs nothing)."""
    if getattr(getattr(fig, "canvas", None), "manager", None) is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)


# ---------------------------------------------------------------------------- text
def _best_name(comparison: Any) -> str | None:
    try:
        return comparison.best.name if comparison.runs else None
    except ValueError:  # no run logged a finite monitor
        return None


_cell = format_cell  # the text table and the HTML table show the same digits


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
