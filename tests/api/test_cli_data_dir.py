"""`grpolab user` / `grpolab project` pointed at a data dir with no database say so, instead of making an empty one
(a newcomer ran `grpolab up --data-dir /tmp/lab`, then `grpolab user list` in another folder: no users, and a new
.grpolab/grpolab.db; `user add` there printed a token the running server refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpolab.cli import main


@pytest.fixture()
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "GRPOLAB_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("argv", [["user", "list"], ["user", "add", "alice"], ["project", "add", "lab"]])
def test_a_data_dir_without_a_database_is_refused_and_left_empty(
    argv: list[str], tmp_path: Path, no_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main([*argv, "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    db = tmp_path.resolve() / "grpolab.db"
    assert (rc, out) == (2, "")
    assert err.startswith(f"grpolab {argv[0]} {argv[1]}: no GRPO Lab database at {db}: pass the --data-dir")
    assert list(tmp_path.iterdir()) == []


def test_the_database_grpolab_up_made_is_used(
    tmp_path: Path, no_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.db.session import migrate

    migrate(f"sqlite:///{tmp_path.resolve() / 'grpolab.db'}")  # what `grpolab up --data-dir` does first
    assert main(["project", "add", "lab", "--data-dir", str(tmp_path)]) == 0
    assert main(["project", "list", "--data-dir", str(tmp_path)]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert names == ["default", "lab"]
