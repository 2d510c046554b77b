"""Warnings and errors about pack files: each names the file, the line and what to do."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Diagnostic(BaseModel):
    """One problem found in a file. `message` says what is wrong and what to do about it."""

    path: str
    line: int | None = None
    severity: Severity = Severity.WARNING
    code: str
    message: str

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity.value} {self.code} {self.message}"


def warning(path: str, line: int | None, code: str, message: str) -> Diagnostic:
    return Diagnostic(path=path, line=line, severity=Severity.WARNING, code=code, message=message)


def error(path: str, line: int | None, code: str, message: str) -> Diagnostic:
    return Diagnostic(path=path, line=line, severity=Severity.ERROR, code=code, message=message)
