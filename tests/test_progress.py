import io

from optbench.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_done_elapsed_and_the_time_left_at_the_mean_rate_on_a_terminal(monkeypatch):
    import tqdm

    clock = iter(float(t) for t in range(0, 100, 2))  # each read of the clock 2 s later
    monkeypatch.setattr(tqdm.std, "time", lambda: next(clock))
    stream = _Terminal()
    progress = Progress(10, stream=stream)
    progress.update(4)
    progress.close()
    last = stream.getvalue().strip().split("\r")[-1]
    assert " 40%|" in last and "4/10 runs" in last
    # 4 runs in the seconds since the start: the 6 left take 1.5 times as long, at the mean rate.
    elapsed, left = last.split("[")[1].rstrip("]").split(", ")
    seconds = lambda text: int(text.split()[0].split(":")[0]) * 60 + int(text.split()[0].split(":")[1])
    assert elapsed.endswith(" elapsed") and left.endswith(" left")
    assert seconds(left) == 1.5 * seconds(elapsed) > 0


def test_progress_is_silent_when_not_a_terminal_or_turned_off():
    plain = io.StringIO()
    Progress(3, stream=plain).update(1)
    assert plain.getvalue() == ""
    terminal = _Terminal()
    Progress(3, stream=terminal, show=False).update(1)
    assert terminal.getvalue() == ""


def test_without_a_bar_each_finished_group_gets_a_line():
    plain = io.StringIO()
    progress = Progress(5, stream=plain)
    progress.update(3)
    progress.group_done("quadratic", "adam[learning_rate=0.1]", ["converged", "max_steps", "converged"])
    assert plain.getvalue() == "[3/5] quadratic adam[learning_rate=0.1]: 2 converged, 1 max_steps\n"
    terminal = _Terminal()
    bar = Progress(5, stream=terminal)
    bar.group_done("quadratic", "adam", ["converged"])
    assert "quadratic" not in terminal.getvalue()  # the bar says it


def test_the_cli_prints_a_line_per_group_where_it_draws_no_bar(tmp_path, capsys):
    from optbench.cli import main

    db = tmp_path / "runs.sqlite"
    assert main(["run", "-p", "linear", "-p", "quadratic", "-o", "lm", "-o", "gd", "--seeds", "2", "--db", str(db),
                 "--max-steps", "50", "--no-progress"]) == 0  # fmt: skip
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    assert len(lines) == 4 and lines[-1].startswith("[8/8] ")
    assert any(line.endswith("linear lm: 2 converged") for line in lines), lines
