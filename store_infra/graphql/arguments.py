"""Checks of field arguments that the GraphQL types cannot express."""

from .errors import invalid_argument

# Ids are BIGINT: 18 digits always fit.
_MAX_ID_DIGITS = 18


def one_of(**arguments) -> tuple[str, object]:
    """The one argument given (not null) among `arguments`, as `(name, value)`."""
    given = [(name, value) for name, value in arguments.items() if value is not None]
    if len(given) != 1:
        names = " or ".join(f"`{name}`" for name in arguments)
        raise invalid_argument(next(iter(arguments)), f"Give exactly one of {names}.")
    return given[0]


def database_id(name: str, value: str | int) -> int:
    """An `ID` argument that must be a database id (a positive whole number)."""
    digits = str(value)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_ID_DIGITS or int(digits) == 0:
        raise invalid_argument(name, f"`{name}` must be a positive whole number.")
    return int(digits)


def text(name: str, value: str | None, *, max_length: int) -> str:
    """A string argument, stripped, at most `max_length` characters ("" when not given)."""
    stripped = (value or "").strip()
    if len(stripped) > max_length:
        raise invalid_argument(name, f"`{name}` must be at most {max_length} characters.")
    return stripped
