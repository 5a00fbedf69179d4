import io

from optbench.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_done_left_and_elapsed_on_a_terminal():
    stream = _Terminal()
    progress = Progress(10, stream=stream)
    progress.update(4)
    progress.close()
    last = stream.getvalue().strip().split("\r")[-1]
    assert "4/10 runs" in last and "6 left" in last and "00:00 elapsed" in last
    assert last.startswith("[" + "#" * 12 + "-" * 18 + "]")


def test_progress_is_silent_when_not_a_terminal_or_turned_off():
    plain = io.StringIO()
    Progress(3, stream=plain).update(1)
    assert plain.getvalue() == ""
    terminal = _Terminal()
    Progress(3, stream=terminal, show=False).update(1)
    assert terminal.getvalue() == ""
