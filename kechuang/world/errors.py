"""What a bad world file is answered with: every problem, each with the path of the entry.

A path reads like the document: `organisations[3].locations[0].region`. Indexes count
from 0 within the section, in the order the file lists the entries.
"""

from django.core.exceptions import ValidationError

Problem = tuple[str, str]  # (path, reason)


def at(*parts: str | int) -> str:
    """Join path parts: at("organisations", 3, "uscc") == "organisations[3].uscc"."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part:
            path = f"{path}.{part}" if path else str(part)
    return path


class WorldError(ValidationError):
    """A world file that cannot be loaded. Nothing of it was written.

    `errors` lists (path, reason) pairs; a Django ValidationError so that the API's
    error handler and form code answer it like any other bad input.
    """

    def __init__(self, errors: list[Problem]):
        self.errors = list(errors)
        super().__init__([f"{path}: {reason}" if path else reason for path, reason in self.errors])

    def __str__(self) -> str:
        count = len(self.errors)
        heading = f"the world file was not loaded ({count} problem{'s' if count != 1 else ''}); nothing was written:"
        lines = (f"  {path}: {reason}" if path else f"  {reason}" for path, reason in self.errors)
        return "\n".join([heading, *lines])

    def prefixed(self, label: str) -> "WorldError":
        """The same problems, each path preceded by `label` (a file name)."""
        return WorldError([(f"{label}: {path}" if path else label, reason) for path, reason in self.errors])
