"""The CLI follows click conventions: --help/-h everywhere, --version, exit codes 0/1/2."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ytrec_infer import __version__
from ytrec_infer.cli import main


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += _command_paths(command, prefix + (name,))
        else:
            paths.append(prefix + (name,))
    return paths


@pytest.mark.parametrize("path", _command_paths(main), ids=lambda p: " ".join(p) or "ytrec")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help(path: tuple[str, ...], flag: str) -> None:
    result = CliRunner().invoke(main, [*path, flag])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ") and "Options:" in result.output
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden and param.name != "help":
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help text"


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_usage_error_exits_2_and_user_error_exits_1(tmp_path: Path) -> None:
    usage = CliRunner().invoke(main, ["recommend", str(tmp_path), "-k", "0", "--history", "1"])
    assert usage.exit_code == 2 and "-k" in usage.output
    not_artifact = CliRunner().invoke(main, ["recommend", str(tmp_path), "--history", "1"])
    assert not_artifact.exit_code == 1 and "Error:" in not_artifact.output
