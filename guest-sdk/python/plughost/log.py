"""Log lines into the host's tracing; the host adds module, tenant and request id."""

from wit_world.imports.log import Level, write


def trace(message: str) -> None:
    write(Level.TRACE, message)


def debug(message: str) -> None:
    write(Level.DEBUG, message)


def info(message: str) -> None:
    write(Level.INFO, message)


def warn(message: str) -> None:
    write(Level.WARN, message)


def error(message: str) -> None:
    write(Level.ERROR, message)
