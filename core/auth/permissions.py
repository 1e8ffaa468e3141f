"""The one permission check: ``@require("claims.write")`` on a view, or :func:`need` inside one.

Both answer through :class:`bayline.errors.Refused`: 401 ``unauthorized`` without a staff login or
API key, 403 ``permission_denied`` when the principal holds none of the permissions (JSON for API
and JSON callers, the friendly error page for the console).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g

from bayline.errors import Refused

from .context import Principal

F = TypeVar("F", bound=Callable[..., Any])


def need(*permissions: str) -> Principal:
    """The request's principal, when it holds at least one of ``permissions``; else :class:`Refused`."""
    principal: Principal | None = g.get("principal")
    if principal is None:
        raise Refused(401, "unauthorized", "Log in or send an API key (Authorization: Bearer ...).")
    if permissions and not any(principal.can(p) for p in permissions):
        raise Refused(403, "permission_denied", f"Your role may not do this ({' or '.join(permissions)}).")
    return principal


def require(*permissions: str) -> Callable[[F], F]:
    """View decorator: the caller needs one of ``permissions`` (a staff login or an API key)."""
    if not permissions:
        raise TypeError("require() needs at least one permission")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            need(*permissions)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def staff_only() -> None:
    """``before_request`` of console blueprints (after ``login_required``): the logged-in user must
    work at a shop (403 ``not_staff`` otherwise)."""
    if g.get("principal") is None:
        raise Refused(403, "not_staff", "Your account is not on the staff of any shop.")
