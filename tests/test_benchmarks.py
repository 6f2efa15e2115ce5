"""The benchmarks: `--against REV` runs a revision's tap beside this one; `costs`, each step."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from benchmarks import costs, run

ROOT = Path(run.__file__).resolve().parent.parent


def _git(*args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args],
        input=stdin,
        capture_output=True,
        check=True,
        env=os.environ | (env or {}),
    )
    return done.stdout.decode().strip()


def _revision_whose_tap_fails() -> str:
    """A commit beside HEAD (no branch, no working tree touched) whose tap exits 3 at once."""
    tap = (ROOT / "tap_1688token" / "tap.py").read_text()
    tap += (
        '\n\ndef main() -> int:\n    sys.stderr.write("the revision under test\\n")\n    return 3\n'
    )
    blob = _git("hash-object", "-w", "--stdin", stdin=tap.encode())
    index = {"GIT_INDEX_FILE": str(ROOT / ".git" / "index-benchmark-test")}
    try:
        _git("read-tree", "HEAD", env=index)
        _git("update-index", "--cacheinfo", f"100644,{blob},tap_1688token/tap.py", env=index)
        tree = _git("write-tree", env=index)
    finally:
        Path(index["GIT_INDEX_FILE"]).unlink(missing_ok=True)
    who = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    who |= {"GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return _git("commit-tree", tree, "-p", "HEAD", "-m", "a tap that fails", env=who)


def test_against_runs_the_revisions_sources_beside_this_checkouts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not (ROOT / ".git").is_dir():
        pytest.skip("not a git checkout")
    commit = _revision_whose_tap_fails()
    short = _git("rev-parse", "--short", commit)
    argv = ["--logs", "300", "--days", "2", "--latency", "0", "--streams", "usage"]
    status = run.main([*argv, "--only", "c", "--against", commit, "--repeat", "2"])
    out = capsys.readouterr().out
    rows = {line.split("  ")[0]: line for line in out.splitlines() if line.startswith("c ")}
    # This checkout's tap delivered every log; the revision's own code ran, and failed.
    assert rows["c tap default"].endswith("ok")
    assert rows[f"c @{short}"].endswith("FAILED")
    assert f"FAILED c @{short}: exit 3: the revision under test" in out
    assert f"c against c @{short}:" in out
    assert "this checkout faster in" in out
    assert status == 1
    assert f"rev-{short}" not in _git("worktree", "list")  # removed afterwards


def test_against_an_unknown_revision_names_it(tmp_path: Path) -> None:
    with (
        pytest.raises(SystemExit, match="no-such-revision"),
        run.worktrees(["no-such-revision"], tmp_path),
    ):
        pass


def test_against_needs_the_row_it_is_set_against(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run.parse_args(["--only", "a", "--against", "HEAD"])
    assert stopped.value.code == 2
    assert "--against compares with (c): add c to --only" in capsys.readouterr().err


def test_costs_measures_each_step_and_a_whole_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert costs.main(["--logs", "1200", "--days", "2", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    figures = {}
    for line in out.splitlines():
        if line.startswith("  "):
            name, _, figure = line.strip().rpartition("  ")
            figures[name.strip()] = float(figure.split()[0])
    assert out.splitlines()[0] == "1200 usage logs in 13 pages of 100"
    # The run wrote every log; its requests are the 13 pages and what the run learns.
    assert "in a run of usage_logs (1200 records, " in out
    expected = [
        "to_records",
        "the key's digest",
        "parsing `other`",
        "the charge's inputs",
        "the tap's client (HTTP and decoding)",
        "its transport (requests' URL, urllib3, http.client)",
        "decoding the page",
        "by hand over a socket",
        "imports (start-up)",
        "main thread after them",
        "every other thread (the requests)",
    ]
    assert all(figures[name] > 0 for name in expected), figures
