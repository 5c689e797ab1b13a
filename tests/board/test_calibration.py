"""Calibration: the math on plain numbers, and the whole flow over a serial link.

Real: pyserial on a pseudo-terminal, the SL codec, the calibrate command. Stood
in: the board and its sensor (a thread on the pty's near end that streams raw
readings around a value the test changes, and acks config commands), and the
person at the keyboard (the ``ask`` callback sits down when told to).
"""

from __future__ import annotations

import pytest

from hub import cli
from hub.board.calibration import CalibrationError, Calibrator, compute
from hub.board.link import SerialLink
from tests.board.conftest import wait_until


def test_points_are_the_medians_and_thresholds_lie_between():
    """Pure math; nothing stood in."""
    result = compute([400, 402, 398, 900], [1800, 1790, 1810, 1805])
    assert result.empty == 401
    assert result.occupied == 1802.5
    assert result.leave < result.enter
    assert result.empty < result.leave < result.enter < result.occupied


def test_a_sensor_that_reads_lower_when_seated_works_too():
    """Pure math: a pull-up FSR falls under load; the thresholds follow."""
    result = compute([3000, 3010, 2990], [1000, 1010, 990])
    assert result.occupied < result.enter < result.leave < result.empty


def test_readings_too_close_for_their_noise_are_refused():
    """Pure math: a gap smaller than the noise would make the chair flicker."""
    with pytest.raises(CalibrationError, match="too close"):
        compute([400, 500, 450], [520, 600, 560])
    with pytest.raises(CalibrationError, match="only 2 seated readings"):
        compute([400, 401, 402], [900, 901])


def test_the_flow_measures_both_phases_and_writes_the_points(pty, sim_board):
    """Empty chair at 400, a person at 1800: the board gets a config command with both points."""
    link = SerialLink.open(pty.path)
    prompts: list[str] = []
    shown: list[float] = []

    def ask(text: str) -> None:
        prompts.append(text)
        sim_board.value = 400.0 if len(prompts) == 1 else 1800.0

    try:
        calibrator = Calibrator(link, ask, lambda _n, _t, v: shown.append(v), samples=8)
        result = calibrator.measure()
        calibrator.write(result)
    finally:
        link.close()
    assert abs(result.empty - 400) <= 5
    assert abs(result.occupied - 1800) <= 5
    assert len(shown) == 16
    assert "empty" in prompts[0]
    assert "Sit" in prompts[1]
    assert wait_until(lambda: len(sim_board.received) == 3)
    kinds = [m["k"] for m in sim_board.received]
    assert kinds == ["stream", "stream", "cmd"]
    assert [m["p"] for m in sim_board.received[:2]] == [True, False]
    cmd = sim_board.received[2]["p"]
    assert cmd["action"] == "config"
    assert cmd["set"] == {"empty": result.empty, "occupied": result.occupied}


def test_a_refused_calibration_says_why(pty, sim_board):
    """The board's ack with ok false becomes the error the person sees."""
    sim_board.refuse = "occupied: must differ from empty"
    link = SerialLink.open(pty.path)
    try:
        calibrator = Calibrator(link, lambda _t: None, lambda *_a: None, samples=3)
        with pytest.raises(CalibrationError, match="occupied: must differ from empty"):
            calibrator.write(compute([1, 2, 1], [100, 101, 100]))
    finally:
        link.close()


def test_a_silent_board_is_a_device_error_with_exit_3(pty, capsys, monkeypatch):
    """No board behind the pty (nothing answers): the command says so and exits 3."""
    monkeypatch.setattr("builtins.input", lambda *_a: "")
    code = cli.main(["calibrate", "--port", pty.path, "--timeout", "1", "--samples", "3"])
    assert code == 3
    assert "sent 0 raw readings" in capsys.readouterr().err


def test_the_command_writes_what_it_measured(pty, sim_board, capsys, monkeypatch):
    """The calibrate command end to end against the stand-in board; Enter is pressed twice."""
    presses = iter([400.0, 1800.0])

    def press_enter(*_a: object) -> str:
        sim_board.value = next(presses)
        return ""

    monkeypatch.setattr("builtins.input", press_enter)
    code = cli.main(["calibrate", "--port", pty.path, "--samples", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "written to the board" in out
    cmds = [m["p"] for m in sim_board.received if m["k"] == "cmd"]
    assert cmds[-1]["set"]["occupied"] > 1790


def test_without_a_keyboard_the_command_says_so(pty, sim_board, capsys, monkeypatch):
    """Stdin at its end (a script, a service): one clear line, exit 1, streaming stopped."""

    def no_keyboard(*_a: object) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_keyboard)
    code = cli.main(["calibrate", "--port", pty.path])
    err = capsys.readouterr().err
    assert code == 1
    assert "needs a person at the keyboard" in err
    assert wait_until(lambda: [m["p"] for m in sim_board.received] == [True, False])
