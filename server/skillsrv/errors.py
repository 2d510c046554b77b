"""Errors a user can act on. Each carries its exit code and prints as one clear message."""

from __future__ import annotations


class SkillsrvError(Exception):
    """A failure caused by input (arguments, files, configuration), not a bug."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(SkillsrvError):
    """Bad command-line usage or arguments."""

    exit_code = 2


class NotFoundError(SkillsrvError):
    """A named pack, skill, sheet or blueprint does not exist; `hint` lists near matches."""

    exit_code = 1
