"""Tests for nerve.utils.progbar: byte parity with Keras 3 and nerve's own modes."""

import io
import os
import re
import subprocess
import sys
import types

import pytest

import nerve.utils.progbar as pb
from nerve.utils.progbar import Progbar

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BAR = "\u2501"


class Clock:
    """Manually advanced clock shared by nerve's and Keras's progbars."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Freeze nerve's clock and give a neutral display environment."""
    c = Clock()
    monkeypatch.setattr(pb, "_clock", c)
    monkeypatch.delenv("NERVE_PROGRESS", raising=False)
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    return c


@pytest.fixture
def keras_progbar(clock, monkeypatch):
    """Keras's Progbar class, driven by the same frozen clock as nerve's."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras", reason="keras not installed: no oracle to compare with")
    from keras.src.utils import progbar as kp

    if not isinstance(getattr(kp, "time", None), types.ModuleType):
        pytest.skip("keras progbar no longer reads time via its `time` module global")
    monkeypatch.setattr(kp, "time", types.SimpleNamespace(time=clock))
    return kp.Progbar


def drive(make_bar, clock, script, capsys):
    """Run `script` (list of (t, method, args, kwargs)) and return stdout text."""
    capsys.readouterr()
    clock.now = 1000.0
    bar = make_bar()
    for t, method, args, kwargs in script:
        clock.now = 1000.0 + t
        getattr(bar, method)(*args, **kwargs)
    return capsys.readouterr().out


def upd(t, current, values=None, finalize=None):
    return (t, "update", (current, values), {"finalize": finalize})


def fit_like(n=15, first=0.4, per_step=0.003, metrics=lambda i: [("accuracy", 0.3 + i / 100), ("loss", 1.2 - i / 50)]):
    """Steps as ProgbarLogger issues them: 1..n, then a finalizing update."""
    steps, t = [], 0.0
    for i in range(1, n + 1):
        t += first if i == 1 else per_step
        steps.append(upd(t, i, metrics(i), False))
    steps.append(upd(t + 0.001, n, metrics(n) + [("val_loss", 1.25)], True))
    return steps


SCENARIOS = {
    "fit_stateful": (dict(target=15, stateful_metrics=["accuracy", "loss", "val_loss"]), fit_like()),
    "averaged_values": (dict(target=15), fit_like()),
    "long_target_padding": (
        dict(target=1200),
        [upd(0.1 * i, i, [("loss", 10.0 ** -i)]) for i in range(1, 8)] + [upd(2.0, 1200, [("loss", 0.5)])],
    ),
    "eta_minutes_and_hours": (
        dict(target=500, interval=0.0),
        [upd(3.0, 1, [("l", 1.0)]), upd(20.0, 2), upd(500.0, 30), upd(9000.0, 40), upd(9100.0, 500)],
    ),
    "slow_steps_s_per_step": (dict(target=3, width=7), [upd(2.5, 1), upd(5.1, 2), upd(7.6, 3)]),
    "add_and_unit_name": (
        dict(target=64, unit_name="sample", width=30),
        [(0.01 * i, "add", (16, [("x", 2.0 * i)]), {}) for i in range(1, 5)],
    ),
    "edge_values": (
        dict(target=4, interval=0.0),
        [
            upd(0.1, 1, [("nan", float("nan")), ("inf", float("inf")), ("neg", -0.5), ("tiny", 1e-7)]),
            upd(0.2, 2, [("big", 123456.789), ("zero", 0.0), ("exact", 1e-3), ("negtiny", -2e-4)]),
            upd(0.3, 4, [("big", 1.5)]),
        ],
    ),
    "unknown_target": (
        dict(target=None),
        [upd(0.2, 1, [("loss", 0.5)]), upd(0.3, 2, [("loss", 0.25)]), upd(0.31, 3), upd(0.6, 3, [("loss", 0.1)], True)],
    ),
    "throttled": (
        dict(target=10),
        [upd(0.01 * i, i, [("loss", 1.0 / i)]) for i in range(1, 11)],
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_tty_bytes_match_keras(name, clock, keras_progbar, capsys, monkeypatch):
    kwargs, script = SCENARIOS[name]
    monkeypatch.setenv("NERVE_PROGRESS", "tty")

    def make_keras():
        bar = keras_progbar(**kwargs)
        bar._dynamic_display = True  # what Keras picks on a POSIX terminal
        return bar

    expected = drive(make_keras, clock, script, capsys)
    got = drive(lambda: Progbar(**kwargs), clock, script, capsys)
    assert got == expected
    assert "\r" in got


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_plain_mode_prints_keras_final_line_once(name, clock, keras_progbar, capsys):
    kwargs, script = SCENARIOS[name]
    keras_out = drive(lambda: keras_progbar(**kwargs), clock, script, capsys)
    got = drive(lambda: Progbar(**kwargs), clock, script, capsys)  # capsys: not a tty

    assert not re.search(r"[\r\b\x1b]", got)
    assert got.count("\n") == 1 and got.endswith("\n")
    final_keras_line = ANSI.sub("", keras_out).split("\r")[-1].rstrip("\n").rstrip(" ")
    assert got == final_keras_line + "\n"


@pytest.mark.parametrize("name", ["fit_stateful", "averaged_values", "edge_values", "slow_steps_s_per_step"])
def test_verbose2_matches_keras(name, clock, keras_progbar, capsys):
    kwargs, script = SCENARIOS[name]
    kwargs = dict(kwargs, verbose=2)
    expected = drive(lambda: keras_progbar(**kwargs), clock, script, capsys)
    got = drive(lambda: Progbar(**kwargs), clock, script, capsys)
    assert got == expected
    assert got.count("\n") == 1


# ---------------------------------------------------------------- literal bytes
THREE_STEPS = [upd(0.5, 1, [("loss", 0.75)]), upd(0.51, 2, [("loss", 0.5)]), upd(0.53, 3, [("loss", 0.25)])]


def test_tty_literal_bytes(clock, capsys, monkeypatch):
    monkeypatch.setenv("NERVE_PROGRESS", "tty")
    out = drive(lambda: Progbar(3, width=6, stateful_metrics=["loss"]), clock, THREE_STEPS, capsys)
    first = f"\r\x1b[1m1/3\x1b[0m \x1b[32m{BAR * 2}\x1b[0m\x1b[37m{BAR * 4}\x1b[0m \x1b[1m1s\x1b[0m 500ms/step - loss: 0.7500"
    # Step 2 comes 10 ms later: throttled. Step 3 is final and always drawn.
    width = len(ANSI.sub("", first)) - 1
    last = f"\r\x1b[1m3/3\x1b[0m \x1b[32m{BAR * 6}\x1b[0m\x1b[37m\x1b[0m \x1b[1m1s\x1b[0m 15ms/step - loss: 0.2500"
    # "15ms" is one column narrower than "500ms": one blank pads the old text away.
    last += " \n"
    assert out == first + "\b" * width + last


def test_plain_and_verbose2_literal(clock, capsys):
    out = drive(lambda: Progbar(3, width=6), clock, THREE_STEPS, capsys)
    assert out == f"3/3 {BAR * 6} 1s 15ms/step - loss: 0.2500\n"
    out = drive(lambda: Progbar(3, verbose=2), clock, THREE_STEPS, capsys)
    assert out == "3/3 - 1s - 15ms/step - loss: 0.2500\n"


def test_unknown_target_literal(clock, capsys, monkeypatch):
    monkeypatch.setenv("NERVE_PROGRESS", "tty")
    out = drive(lambda: Progbar(None), clock, [upd(2.0, 7, [("l", 2.0)])], capsys)
    assert out == "\r      7/Unknown \x1b[1m2s\x1b[0m 286ms/step - l: 2.0000"
    # Without a target nothing is final unless asked; verbose=2 then stays silent.
    assert drive(lambda: Progbar(None, verbose=2), clock, [upd(2.0, 7, None, True)], capsys) == ""


def test_verbose0_prints_nothing(clock, capsys):
    assert drive(lambda: Progbar(3, verbose=0), clock, THREE_STEPS, capsys) == ""


# ------------------------------------------------------------------ formatting
@pytest.mark.parametrize(
    "value, text, text_v2",
    [
        (0.8127, "0.8127", "0.8127"),
        (123456.789, "123456.7890", "123456.7890"),
        (0.0011, "0.0011", "0.0011"),
        (1e-3, "1.0000e-03", "1.0000e-03"),
        (2.5e-7, "2.5000e-07", "2.5000e-07"),
        (0.0, "0.0000e+00", "0.0000e+00"),
        (-0.5, "-0.5000", "-5.0000e-01"),
        (float("nan"), "nan", "nan"),
        (float("inf"), "inf", "inf"),
    ],
)
def test_format_number(value, text, text_v2):
    assert pb._format_number(value) == text
    assert pb._format_number(value, use_abs=False) == text_v2


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s/step"), (2.4, "2s/step"), (1.0, "1s/step"), (0.0034, "3ms/step"), (0.001, "1ms/step"), (0.000378, "378us/step")],
)
def test_format_step_time(seconds, text):
    assert pb._format_step_time(seconds, "step") == text


@pytest.mark.parametrize("eta, text", [(0.4, "0s"), (59.9, "59s"), (60.0, "60s"), (61.7, "1:01"), (3600.0, "60:00"), (3725.2, "1:02:05")])
def test_format_eta(eta, text):
    assert pb._format_eta(eta) == text


# ------------------------------------------------------------------- behaviour
def test_interval_throttling(clock, capsys, monkeypatch):
    monkeypatch.setenv("NERVE_PROGRESS", "tty")
    script = [upd(t, i) for i, t in enumerate([0.0, 0.01, 0.04, 0.06, 0.07, 0.2, 0.21], start=1)]
    out = drive(lambda: Progbar(100, interval=0.05), clock, script, capsys)
    drawn = [int(m) for m in re.findall(r"\r\x1b\[1m\s*(\d+)/100", out)]
    assert drawn == [1, 4, 6]
    out = drive(lambda: Progbar(7, interval=0.05), clock, script, capsys)
    assert [int(m) for m in re.findall(r"\r\x1b\[1m\s*(\d+)/7", out)] == [1, 4, 6, 7]
    assert out.endswith("\n")


def test_stateless_values_are_weighted_by_steps(clock, capsys):
    script = [upd(0.1, 1, [("a", 1.0)]), upd(0.2, 4, [("a", 2.0)]), upd(0.3, 5, [("a", 9.0)], False)]
    bar = Progbar(10)
    for t, _, (cur, vals), kw in script:
        clock.now = 1000.0 + t
        bar.update(cur, vals, **kw)
    assert bar._metrics["a"].value() == pytest.approx((1 * 1 + 2 * 3 + 9 * 1) / 5)


class CountingScalar:
    """Stands in for a device tensor: counts host conversions."""

    calls = 0

    def __init__(self, v):
        self.v = v

    def __float__(self):
        CountingScalar.calls += 1
        return self.v


@pytest.mark.parametrize("mode", ["tty", "plain", "verbose2", "silent"])
def test_values_converted_only_when_printed(mode, clock, capsys, monkeypatch):
    CountingScalar.calls = 0
    if mode == "tty":
        monkeypatch.setenv("NERVE_PROGRESS", "tty")
    verbose = {"verbose2": 2, "silent": 0}.get(mode, 1)
    bar = Progbar(50, verbose=verbose, stateful_metrics=["acc"])
    for i in range(1, 50):
        clock.now = 1000.0 + 0.001 * i  # all within one 50 ms interval
        bar.update(i, [("loss", CountingScalar(0.5)), ("acc", CountingScalar(0.25))])
    # tty draws step 1 only (two values); other modes draw nothing yet.
    assert CountingScalar.calls == (2 if mode == "tty" else 0)
    CountingScalar.calls = 0
    bar.update(50, [("loss", CountingScalar(0.5)), ("acc", CountingScalar(0.25))])
    assert CountingScalar.calls == (0 if mode == "silent" else 2)
    out = capsys.readouterr().out
    if mode != "silent":
        assert out.rstrip(" \n").endswith(" - loss: 0.5000 - acc: 0.2500")


def test_pending_values_converted_once(clock, capsys, monkeypatch):
    monkeypatch.setenv("NERVE_PROGRESS", "tty")
    CountingScalar.calls = 0
    bar = Progbar(100, interval=0.0)
    for i in range(1, 6):
        clock.now = 1000.0 + i
        bar.update(i, [("loss", CountingScalar(float(i)))])
    assert CountingScalar.calls == 5  # each value read once, not once per redraw
    assert capsys.readouterr().out.endswith("loss: 3.0000")


def test_torch_scalars_and_numpy_scalars(clock, capsys):
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    bar = Progbar(2, verbose=2)
    bar.update(1, [("t", torch.tensor(0.25)), ("n", np.float32(0.5)), ("v", torch.tensor([1.0, 3.0]))])
    bar.update(2, [("t", torch.tensor(0.75)), ("n", np.float64(0.5)), ("v", np.array([2.0, 4.0]))])
    assert capsys.readouterr().out.endswith("- t: 0.7500 - n: 0.5000 - v: 3.0000\n")


def test_mapping_values_and_add(clock, capsys):
    bar = Progbar(4, verbose=2, stateful_metrics=["m"])
    bar.add(2, {"m": 0.5})
    bar.add(2, {"m": 0.125})
    assert capsys.readouterr().out == "4/4 - 0s - 0s/step - m: 0.1250\n"


def test_stateless_metrics_option(clock, capsys):
    bar = Progbar(10, stateless_metrics=["avg"])
    bar.update(1, [("avg", 1.0), ("raw", 1.0)])
    bar.update(2, [("avg", 3.0), ("raw", 3.0)])
    assert bar._metrics["avg"].value() == 2.0 and bar._metrics["raw"].value() == 3.0
    with pytest.raises(ValueError, match="not both"):
        Progbar(10, stateful_metrics=["a"], stateless_metrics=["b"])


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


@pytest.mark.parametrize(
    "isatty, env, ipykernel, dynamic",
    [
        (True, None, False, True),
        (False, None, False, False),
        (False, None, True, True),
        (True, "plain", False, False),
        (False, "tty", False, True),
        (False, "PLAIN", True, False),
        (True, "bogus", False, True),
    ],
)
def test_mode_detection(isatty, env, ipykernel, dynamic, clock, monkeypatch):
    monkeypatch.setattr(sys, "stdout", FakeStream(isatty))
    if env is not None:
        monkeypatch.setenv("NERVE_PROGRESS", env)
    if ipykernel:
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    bar = Progbar(2)
    assert bar.dynamic is dynamic
    bar.update(1)
    bar.update(2)
    text = sys.stdout.getvalue()
    assert ("\r" in text) is dynamic and ("\x1b[" in text) is dynamic


def test_writes_to_stdout_at_call_time(clock, monkeypatch):
    bar = Progbar(1, verbose=2)
    stream = FakeStream(False)
    monkeypatch.setattr(sys, "stdout", stream)
    bar.update(1)
    assert stream.getvalue() == "1/1 - 0s - 0s/step\n"


def test_non_utf8_stream_falls_back_to_ascii_bar(clock, monkeypatch):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    Progbar(2, width=4).update(2)
    stream.flush()
    assert raw.getvalue() == b"2/2 ==== 0s 0s/step\n"


def test_module_imports_only_stdlib():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "nerve", "utils", "progbar.py")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('standalone_progbar', {os.path.abspath(path)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "mod.Progbar(1, verbose=2).update(1, [('x', 0.5)])\n"
        "bad = sorted(m for m in ('torch', 'numpy', 'keras') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith("- x: 0.5000\n")
