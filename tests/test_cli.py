"""The ``autoscope`` command line: parsing, errors, ``serve --config-only``, a real demo."""

from __future__ import annotations

import re

import pytest

from autoscope.cli import build_parser, main


def _fails(argv, capsys, match):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    return err


def test_demo_defaults_and_specs():
    args = build_parser().parse_args(["demo"])
    assert (args.sample, args.policy, args.scalarizer) == ("stem", "ei", None)
    assert (args.budget, args.n_seed, args.shape, args.patch_size, args.seed) == (80, 10, 64, 16, 0)
    assert args.catalog is None and args.tiled_uri is None and args.report is None
    args = build_parser().parse_args(
        ["demo", "--sample", "spm", "--scalarizer", '{"name": "loop_area", "params": {}}',
         "--policy", '{"name": "ucb", "params": {"beta": 4}}']
    )  # fmt: skip
    assert args.sample == "spm"
    assert args.scalarizer == {"name": "loop_area", "params": {}}
    assert args.policy == {"name": "ucb", "params": {"beta": 4}}


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["demo", "--sample", "xray"], r"invalid choice: 'xray'"),
        (["demo", "--budget", "0"], r"--budget: expected a positive integer, got '0'"),
        (["demo", "--budget", "ten"], r"expected a positive integer, got 'ten'"),
        (["demo", "--seed", "-1"], r"expected an integer >= 0, got '-1'"),
        (["demo", "--scalarizer", "{bad"], r"not valid JSON"),
        (["demo", "--scalarizer", "[1, 2]"], r"unknown scalarizer|--scalarizer"),
        (["demo", "--scalarizer", '{"params": {}}'], r'a JSON spec is \{"name"'),
        (["demo", "--scalarizer", "no_such_thing"], r"--scalarizer: .*no_such_thing"),
        (["demo", "--catalog", "x", "--tiled-uri", "http://y"], r"not allowed with argument"),
        (["demo", "--api-key", "k"], r"--api-key needs --tiled-uri"),
        (["demo", "--tiled-uri", "ftp://host"], r"must start with http:// or https://"),
        (["demo", "--n-seed", "20", "--budget", "10"], r"--n-seed \(20\) must not exceed"),
        (["demo", "--shape", "32", "--patch-size", "40"], r"does not fit in a 32-pixel grid"),
        (["demo", "--shape", "4"], r"--shape must be >= 8"),
        (["demo", "--report", "d", "--no-report"], r"exclude each other"),
        (["demo", "--frobnicate"], r"unrecognized arguments: --frobnicate"),
        (["nosuchcommand"], r"invalid choice: 'nosuchcommand'"),
        (["serve", "--port", "70000"], r"--port must be in 1..65535"),
    ],
)
def test_bad_arguments_exit_2(argv, match, capsys):
    _fails(argv, capsys, match)


def test_no_command_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "demo" in err and "serve" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("autoscope ")


def test_commands_are_the_registered_ones():
    from autoscope.cli import COMMANDS

    sub = build_parser()._subparsers._group_actions[0]
    assert {"demo", "serve"} <= set(sub.choices)
    assert set(sub.choices) == set(COMMANDS)  # no parser-only placeholders
    assert all(callable(run) for _, _, run in COMMANDS.values())


def test_serve_config_only(tmp_path, capsys, monkeypatch):
    yaml = pytest.importorskip("yaml")
    monkeypatch.delenv("TILED_API_KEY", raising=False)
    key = "secret42secret42secret42"
    rc = main(["serve", "--catalog", str(tmp_path / "cat"), "--api-key", key,
               "--port", "8123", "--config-only"])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    assert key not in out and "api key : secr… (24 chars) (--api-key)" in out
    assert "http://127.0.0.1:8123" in out and "start   : autoscope serve --catalog" in out
    config = yaml.safe_load((tmp_path / "cat" / "config.yml").read_text())
    assert config["authentication"]["single_user_api_key"] == key
    assert config["uvicorn"] == {"host": "127.0.0.1", "port": 8123}
    # no key given and none in the environment: a random one, saved 0600, printed masked
    main(["serve", "--catalog", str(tmp_path / "cat2"), "--config-only"])
    out = capsys.readouterr().out
    saved = (tmp_path / "cat2" / "api_key").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", saved) and saved not in out
    assert "(32 chars) (generated, saved in" in out
    assert (tmp_path / "cat2" / "api_key").stat().st_mode & 0o777 == 0o600
    _fails(["serve", "--catalog", str(tmp_path / "cat3"), "--api-key", "bad key!",
            "--config-only"], capsys, r"api_key must be")  # fmt: skip


# -- needs the instrument, plan, storage and trace ----------------------------------------------
@pytest.mark.slow  # imports the whole stack (torch, bluesky, ophyd): ~5 s
def test_scalarizer_that_does_not_fit_the_sample_exits_2(capsys, tmp_path):
    # a diffraction-pattern scalarizer on 1-D EELS spectra: rejected when the plan is built
    _fails(["demo", "--shape", "32", "--patch-size", "8", "--budget", "12", "--n-seed", "4",
            "--scalarizer", "com_magnitude", "--catalog", str(tmp_path)],
           capsys, r"com_magnitude|spectrum|dimension")  # fmt: skip
    assert not list(tmp_path.iterdir())  # nothing was stored


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys, monkeypatch):
    from autoscope.storage import close_catalog, open_catalog

    monkeypatch.chdir(tmp_path)
    cat = tmp_path / "catalog"
    rc = main(["demo", "--shape", "32", "--patch-size", "8", "--budget", "12", "--n-seed", "4",
               "--catalog", str(cat), "--no-progress"])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    uid = re.search(r"run uid\s+: (\S+)", out).group(1)
    assert "12 of 32x32 pixels (1.17% of the grid" in out
    assert re.search(r"true top 1% found after\s+: (\d+ measurements|not found in 12)", out)
    assert re.search(r"true best\s+: -?\d", out)
    assert re.search(r"best true value measured\s+: -?\d", out)
    assert "exit status                 : success" in out
    report = tmp_path / "autoscope-report" / uid[:8]
    assert f"report                      : autoscope-report/{uid[:8]}/index.html" in out
    html = (report / "index.html").read_text()
    for stem in ("structure", "mean", "uncertainty", "truth", "acquisition", "best_so_far"):
        assert (report / f"{stem}.png").stat().st_size > 1000
        assert f"{stem}.png" in html
    assert uid in html
    client = open_catalog(cat)
    try:
        run = client[uid]
        assert run.metadata["start"]["uid"] == uid
        assert run.metadata["stop"]["exit_status"] == "success"
    finally:
        close_catalog(client)
