"""Exit codes (CONTRACT.md) and the errors that carry them to the CLI's one handler."""

from __future__ import annotations

from dataclasses import dataclass


class RC:
    """Process exit codes, as documented in CONTRACT.md."""

    OK = 0
    FAILED = 1
    INPUT = 2
    ENVIRONMENT = 3
    INTERRUPTED = 130


@dataclass(frozen=True)
class Issue:
    """One problem in an input file: where it is and what was expected."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class LpdeployError(Exception):
    """Base of every error the CLI turns into an exit code."""

    exit_code = RC.FAILED


class InputError(LpdeployError):
    """An input file or argument is wrong; carries every problem found at once."""

    exit_code = RC.INPUT

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        if len(issues) == 1:
            super().__init__(str(issues[0]))
        else:
            lines = "".join(f"\n  {issue}" for issue in issues)
            super().__init__(f"{len(issues)} problems:{lines}")

    @classmethod
    def single(
        cls, path: str, message: str, field: str = "", line: int | None = None
    ) -> InputError:
        return cls([Issue(path=path, line=line, field=field, message=message)])


class MissingToolError(LpdeployError):
    """A tool or permission the command needs is missing; the message says how to get it."""

    exit_code = RC.ENVIRONMENT


class NotRightError(LpdeployError):
    """It ran, and something is not right (a host failed, a bundle is tampered with)."""

    exit_code = RC.FAILED
