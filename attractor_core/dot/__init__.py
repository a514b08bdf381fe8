"""The DOT front end: tokenizer, parser and ``ParseError``."""

from attractor_core.dot.errors import ParseError
from attractor_core.dot.parser import derive_class, parse_dot, parse_file

__all__ = ["ParseError", "derive_class", "parse_dot", "parse_file"]
