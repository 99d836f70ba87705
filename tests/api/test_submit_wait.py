"""`grpolab submit --wait` in a log that is not a terminal (CI): rich's bar draws nothing there until the run ends
(a 20-minute run printed only its id), so a line is printed when the status or the tenth of the steps moves."""

from __future__ import annotations

from grpolab.commands.submit import milestone, progress_line


def run(status: str, step: int, total: int | None = 500, reward: float | None = None) -> dict[str, object]:
    return {"status": status, "step": step, "total_steps": total, "last_reward": reward}


def test_a_line_per_status_and_per_tenth_of_the_steps() -> None:
    polls = [
        run("queued", 0),
        run("queued", 0),
        run("running", 3, reward=0.1),
        run("running", 49, reward=0.5),
        run("running", 50, reward=0.6),
        run("running", 99, reward=0.7),
        run("running", 500, reward=0.99),
        run("succeeded", 500, reward=0.99),
    ]
    lines, seen = [], None
    for r in polls:
        if milestone(r) != seen:
            seen = milestone(r)
            lines.append(progress_line(r))
    assert lines == [
        "queued step 0/500",
        "running step 3/500 reward 0.100",
        "running step 50/500 reward 0.600",
        "running step 500/500 reward 0.990",
        "succeeded step 500/500 reward 0.990",
    ]


def test_an_unknown_total_is_said_not_divided_by() -> None:
    assert milestone(run("running", 7, total=None)) == ("running", 0)
    assert progress_line(run("running", 7, total=0)) == "running step 7/?"
