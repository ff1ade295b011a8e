"""``autoscope bench`` on the terminal: a reduced run never reads like a broken install."""

from __future__ import annotations

from autoscope.bench.cli import terminal_summary
from autoscope.bench.report import _verdict
from autoscope.bench.runner import BenchConfig
from autoscope.cli import main


def _target(verdict: str, passed: bool | None, note: str) -> dict:
    return {
        "verdict": verdict,
        "passed": passed,
        "task": "stem",
        "target": "active DKL (EI): steps to the true top 1% <= 34",
        "measured": "40 median",
        "note": note,
    }


def test_quick_summary_labels_targets_as_information():
    targets = [_target("FAIL", False, "settings differ"), _target("PASS", True, "settings differ")]
    text = terminal_summary({"targets": targets}, BenchConfig.quick_config(), "out/RESULTS.md")
    assert "FAIL" not in text and "PASS" not in text and "not met (see" not in text
    assert "not met here" in text and "met here" in text
    assert "the install works" in text
    assert "full settings (64x64 grid, 16x16 patches" in text
    assert "32x32 grid, 8x8 patches, budget 30, 2 seed(s)" in text
    assert "without --quick" in text


def test_full_settings_keep_the_verdicts_and_count_the_misses():
    targets = [_target("FAIL", False, ""), _target("PASS", True, ""), _target("FAIL", False, "")]
    text = terminal_summary({"targets": targets}, BenchConfig(), "RESULTS.md")
    lines = text.splitlines()
    assert sum(line.strip().startswith("FAIL") for line in lines) == 2
    assert sum(line.strip().startswith("PASS") for line in lines) == 1
    assert lines[-1].strip() == "2 target(s) not met at the full settings (see the report)"
    assert "information" not in text


def test_markdown_verdict_words():
    assert _verdict("FAIL") == "**FAIL**" and _verdict("PASS") == "**PASS**"
    assert _verdict("FAIL", reduced=True) == "not met here"
    assert _verdict("PASS", reduced=True) == "met here"
    assert _verdict("undetermined", reduced=True) == "undetermined"


def test_quick_cli_run_exits_zero_and_says_so(tmp_path, capsys):
    argv = ["bench", "--quick", "--tasks", "stem", "--methods", "random", "--seeds", "1"]
    argv += ["--shape", "24", "--out", str(tmp_path), "--no-plots"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "This was a quick run (24x24 grid, 8x8 patches, budget 30, 1 seed(s))" in out
    assert "FAIL" not in out and "not met" not in out


def test_a_reported_128_row_does_not_make_a_full_run_read_as_reduced():
    reported = _target("reported", None, "128x128 is reported, the target is for 64x64")
    text = terminal_summary(
        {"targets": [_target("PASS", True, ""), reported]}, BenchConfig(), "RESULTS.md"
    )
    assert "reduced settings" not in text and "information" not in text
    assert sum(line.strip().startswith("PASS") for line in text.splitlines()) == 1
