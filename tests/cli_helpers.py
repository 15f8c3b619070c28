"""Running the real CLI in-process and checking its one-line errors."""

import re

from typer.testing import CliRunner

from stargan_cli.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def assert_one_line_error(code, output, pattern):
    """Exit code 1, no traceback, the first line an `error:` line, and `pattern` in the message."""
    assert code == 1, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[0].startswith("error:"), output
    assert re.search(pattern, " ".join(lines)), output
