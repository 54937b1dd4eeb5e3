"""The one exception type that means "the user asked for something we cannot do".

`train.py` turns it into a one-paragraph message and a non-zero exit instead of a
traceback, so every check of user input raises this and nothing else.
"""

import math
import sys


class UserError(Exception):
    """Bad input from the command line, a config value or a data file."""


def require(condition: bool, message: str) -> None:
    """Raise `UserError(message)` unless `condition` holds."""
    if not condition:
        raise UserError(message)


def positive_int(value, name: str) -> int:
    """Return `value` as an int, or fail with a message that names the config key."""
    require(
        isinstance(value, int) and not isinstance(value, bool) and value > 0,
        f"{name} must be a positive integer, got {value!r}.",
    )
    return value


def non_negative_int(value, name: str, meaning: str = "") -> int:
    """Return `value` as an int >= 0, or fail with a message that names the config key (and what 0 means)."""
    require(
        isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        f"{name} must be an integer >= 0{meaning}, got {value!r}.",
    )
    return value


def number(value, name: str) -> float:
    """Return `value` as a float, or fail with a message that names the config key (NaN and infinity refused)."""
    require(isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
            f"{name} must be a finite number, got {value!r}.")
    return float(value)


def positive_number(value, name: str) -> float:
    """A finite number above 0, or a message that names the config key."""
    require(isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0,
            f"{name} must be a positive number, got {value!r}.")
    return float(value)


def probability(value, name: str) -> float:
    """A dropout-style probability in [0, 1), or a message that names the config key."""
    require(isinstance(value, int | float) and 0 <= value < 1, f"{name} must be in [0, 1), got {value!r}.")
    return float(value)


def listed(items, limit: int = 10) -> str:
    """`items` for a message, shortened: "'a', 'b', 'c' and 990 more" (a label list can run to kilobytes)."""
    items = [repr(item) for item in items]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit:,} more"


def user_error_in(error: BaseException) -> "UserError | None":
    """The UserError behind `error`, if any (Hydra's instantiate wraps constructor errors)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UserError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def exit_status(error: BaseException) -> int:
    """For a command's `except`: print the UserError behind `error` as one `error:` line and return 2, the exit
    status; any other error is raised again, with its traceback."""
    cause = user_error_in(error)
    if cause is None:
        raise error
    print(f"error: {cause}", file=sys.stderr)
    return 2
