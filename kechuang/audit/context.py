"""Which interface a change comes through, and on whose behalf.

A request sets it from its path (`middleware.AuditMiddleware`); code outside a
request sets it with `interface(...)`, and the importers with `importing(...)`. Every
historical record reads it when it is made, so a service never has to be told.
"""

import getpass
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import models


class Interface(models.TextChoices):
    API = "api", "REST API"
    WEB = "web", "web pages"
    ADMIN = "admin", "Django admin"
    CLI = "cli", "command line"
    IMPORT = "import", "import (world file, division list)"


#: The interfaces a request comes through; the rest are processes someone started.
REQUEST_INTERFACES = frozenset({Interface.API, Interface.WEB, Interface.ADMIN})


@dataclass(frozen=True)
class AuditContext:
    interface: str
    #: Stored as the record's change reason: for a command or an import, what ran and
    #: who ran it on which machine, since no user may be signed in.
    reason: str | None = None
    #: Who acts when no request says so (a command run on a user's behalf).
    user: Any = None


_current: ContextVar[AuditContext | None] = ContextVar("kechuang_audit", default=None)


@cache
def process_description() -> str:
    """The command line, the OS user and the host: `kechuang load-divisions --towns 3206
    (OS user ops on db1)`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container without a passwd entry for its uid
        user = str(os.getuid())
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
    return f"{command} (OS user {user} on {socket.gethostname()})"


def current() -> AuditContext:
    """The context in force. Outside any request or `interface()` block, a process
    someone started by hand is writing (the kechuang command, a shell, a script): cli."""
    return _current.get() or AuditContext(Interface.CLI, reason=process_description())


def current_interface() -> str:
    """The default of every historical record's `history_interface`.

    Migrations refer to this function by its dotted path: keep its name and module.
    """
    return current().interface


@contextmanager
def interface(name: str, *, reason: str | None = None, user: Any = None) -> Iterator[AuditContext]:
    """Record the changes made inside the block as coming through `name`.

    `reason` is stored with each record (default: for cli and import, the command line
    and OS user; inside a request, nothing). `user` is who acts when no request says
    so; by default the enclosing block's.
    """
    if name not in Interface.values:
        raise ValueError(f"{name!r} is not an interface; one of {', '.join(Interface.values)}")
    outer = current()
    if reason is None and name not in REQUEST_INTERFACES:
        reason = outer.reason if outer.interface not in REQUEST_INTERFACES else process_description()
    context = AuditContext(name, reason, user if user is not None else outer.user)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def importing(what: str) -> Iterator[AuditContext]:
    """An importer's block (`what`: "world file tongzhou.yaml").

    Run from the command line or from code, its changes count as `import`. Inside a
    request they keep the request's interface: who sent the file, and through which
    door, is what the record must say; `what` is kept as the reason.
    """
    outer = current()
    if outer.interface in REQUEST_INTERFACES:
        with interface(outer.interface, reason=what) as context:
            yield context
    else:
        with interface(Interface.IMPORT, reason=f"{what}; {outer.reason}" if outer.reason else what) as context:
            yield context
