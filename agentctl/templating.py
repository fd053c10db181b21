"""The prompt templates rendered without Jinja2: a small renderer for the subset of Jinja2 they use,
byte for byte identical to Jinja2 on that subset.

Importing jinja2 costs about 40 ms and compiling the templates 15-25 ms more on every run, which
`agentctl prompt` cannot afford within its start-up budget; the templates are a few ifs, fors and
trimmed values. `parse(source)` returns a `Template` when the source stays inside the subset, and
None otherwise: the caller (agentctl.prompts) then renders through Jinja2. `Template.render` raises
`Unsupported` or any other exception for a value it cannot render exactly as Jinja2 would (a name
that is missing, an attribute of anything but a dict...): the caller renders again through Jinja2,
which gives its own result or its own error message. The fast path never decides an error.

The subset, under agentctl's environment (trim_blocks, lstrip_blocks, keep_trailing_newline, no
autoescape, StrictUndefined, the sandbox):
- text; `{# comments #}`; `{{ expr }}`; `{% if expr %}`, `{% elif expr %}`, `{% else %}`,
  `{% endif %}`; `{% for name in expr %}`, `{% endfor %}`; the `-` and `+` whitespace controls;
- expressions: names, 'string' and "string" literals without backslashes, `.attribute` (of a dict:
  the sandbox's getattr falls back to the item), the filters `trim` and `join` (with an optional
  string separator), `==`, `!=`, `in`, `not in` (one per comparison), `not`, `and`, `or`.
Anything else (a call, a subscript, arithmetic, a number, a test, `loop`, an include, `raw`, a
filter not listed) is outside it. Values are read only as Jinja2 would read them, and iterated only
when they are built-in containers, so a render that falls back to Jinja2 never finds a value
consumed by the first attempt.

Outside input: a team's templates come from its repository. The scanner finds tags with str.find
and reads each tag once, so parsing is linear in the template's length; nesting and the size of an
expression have budgets (below Jinja2's own limits, so that the subset never renders a template
that Jinja2 refuses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Jinja2 itself fails on 21 nested `for` blocks (Python's limit of statically nested blocks) and on
# expressions nested about 200 deep (Python's parser): the fast path stays well below both.
MAX_NESTING = 16
MAX_OPERATORS = 32

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
# Names Jinja2 reads as keywords, constants or special variables: outside the subset as values.
_RESERVED = frozenset(
    {
        *("and", "or", "not", "in", "is", "if", "else", "elif", "endif", "for", "endfor", "raw", "block"),
        *("true", "false", "none", "True", "False", "None"),
        *("loop", "self", "super", "caller", "varargs", "kwargs", "recursive"),
    }
)
# Values the fast path may iterate or search: built-in containers, iterated without side effects.
_CONTAINERS = (str, list, tuple, dict, set, frozenset)

Scope = dict[str, Any]
Token = tuple[str, str]  # ("name" | "string" | "op", text)
Piece = tuple[str, Any]  # ("text", str) | ("output", _Expression) | ("tag", (keyword, ...))


class Unsupported(Exception):
    """A value the fast path does not render the way Jinja2 would: Jinja2 renders it instead."""


# --- the tree -------------------------------------------------------------------------------------


class _Expression:
    __slots__ = ()

    def evaluate(self, scope: Scope) -> Any:
        raise NotImplementedError


class _Name(_Expression):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def evaluate(self, scope: Scope) -> Any:
        if self.name not in scope:
            raise Unsupported(f"{self.name!r} is undefined")  # StrictUndefined: Jinja2 words the error
        return scope[self.name]


class _Literal(_Expression):
    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def evaluate(self, scope: Scope) -> Any:
        return self.value


class _Attribute(_Expression):
    """`value.name` as the sandbox reads it: getattr first, then the item; only dicts here, whose
    attributes are known (a dict's method is an attribute Jinja2 would find first)."""

    __slots__ = ("name", "value")

    def __init__(self, value: _Expression, name: str) -> None:
        self.value, self.name = value, name

    def evaluate(self, scope: Scope) -> Any:
        value = self.value.evaluate(scope)
        if type(value) is not dict or hasattr(dict, self.name) or self.name not in value:
            raise Unsupported(f"attribute {self.name!r}")
        return value[self.name]


def _trim(value: Any, argument: str | None) -> str:
    """Jinja2's `trim`: markupsafe's soft_str, then strip()."""
    return (value if isinstance(value, str) else str(value)).strip()


def _join(value: Any, separator: str | None) -> str:
    """Jinja2's `join` without autoescape: str(d).join(map(str, value))."""
    return ("" if separator is None else separator).join(map(str, _iterable(value)))


_FILTERS: dict[str, Callable[[Any, str | None], str]] = {"trim": _trim, "join": _join}
_FILTERS_WITH_ARGUMENT = frozenset({"join"})


class _Filter(_Expression):
    __slots__ = ("argument", "function", "value")

    def __init__(self, value: _Expression, function: Callable[[Any, str | None], str], argument: str | None) -> None:
        self.value, self.function, self.argument = value, function, argument

    def evaluate(self, scope: Scope) -> Any:
        return self.function(self.value.evaluate(scope), self.argument)


class _Not(_Expression):
    __slots__ = ("value",)

    def __init__(self, value: _Expression) -> None:
        self.value = value

    def evaluate(self, scope: Scope) -> Any:
        return not self.value.evaluate(scope)


class _And(_Expression):
    """Python's `and`, as Jinja2 compiles it: the left value when it is false, else the right one."""

    __slots__ = ("left", "right")

    def __init__(self, left: _Expression, right: _Expression) -> None:
        self.left, self.right = left, right

    def evaluate(self, scope: Scope) -> Any:
        left = self.left.evaluate(scope)
        return self.right.evaluate(scope) if left else left


class _Or(_Expression):
    __slots__ = ("left", "right")

    def __init__(self, left: _Expression, right: _Expression) -> None:
        self.left, self.right = left, right

    def evaluate(self, scope: Scope) -> Any:
        left = self.left.evaluate(scope)
        return left if left else self.right.evaluate(scope)


class _Compare(_Expression):
    __slots__ = ("left", "operator", "right")

    def __init__(self, left: _Expression, operator: str, right: _Expression) -> None:
        self.left, self.operator, self.right = left, operator, right

    def evaluate(self, scope: Scope) -> Any:
        if self.operator != "==" and self.operator != "!=" and isinstance(self.left, _Name | _Attribute):
            right = self.right.evaluate(scope)
            if type(right) in (list, tuple) and not right:
                # Jinja2 compares nothing with an empty list, so a name or attribute that is undefined
                # (StrictUndefined fails only when used, or hashed: a dict or set is no exception) is
                # never touched: plain False.
                return self.operator != "in"
        left, right = self.left.evaluate(scope), self.right.evaluate(scope)
        if self.operator == "==":
            return left == right
        if self.operator == "!=":
            return left != right
        found = left in _iterable(right)
        return found if self.operator == "in" else not found


def _iterable(value: Any) -> Any:
    if type(value) not in _CONTAINERS:  # a generator would be consumed before a fallback to Jinja2
        raise Unsupported(f"iterating a {type(value).__name__}")
    return value


class _Node:
    __slots__ = ()

    def render(self, scope: Scope, out: list[str]) -> None:
        raise NotImplementedError


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, scope: Scope, out: list[str]) -> None:
        out.append(self.text)


class _Output(_Node):
    __slots__ = ("value",)

    def __init__(self, value: _Expression) -> None:
        self.value = value

    def render(self, scope: Scope, out: list[str]) -> None:
        out.append(str(self.value.evaluate(scope)))  # without autoescape or finalize, Jinja2 calls str()


class _If(_Node):
    __slots__ = ("branches", "otherwise")

    def __init__(self, test: _Expression) -> None:
        self.branches: list[tuple[_Expression, list[_Node]]] = [(test, [])]
        self.otherwise: list[_Node] | None = None

    def body(self) -> list[_Node]:
        return self.branches[-1][1] if self.otherwise is None else self.otherwise

    def render(self, scope: Scope, out: list[str]) -> None:
        for test, body in self.branches:
            if test.evaluate(scope):
                _render(body, scope, out)
                return
        if self.otherwise is not None:
            _render(self.otherwise, scope, out)


class _For(_Node):
    __slots__ = ("iterable", "nodes", "target")

    def __init__(self, target: str, iterable: _Expression) -> None:
        self.target, self.iterable = target, iterable
        self.nodes: list[_Node] = []

    def body(self) -> list[_Node]:
        return self.nodes

    def render(self, scope: Scope, out: list[str]) -> None:
        items = _iterable(self.iterable.evaluate(scope))
        inner = dict(scope)  # the loop variable lives in the loop only
        for item in items:
            inner[self.target] = item
            _render(self.nodes, inner, out)


def _render(nodes: list[_Node], scope: Scope, out: list[str]) -> None:
    for node in nodes:
        node.render(scope, out)


class Template:
    """A template inside the subset, parsed once, rendered many times."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list[_Node]) -> None:
        self.nodes = nodes

    def render(self, context: dict[str, Any]) -> str:
        """The text Jinja2 would render; raises on anything Jinja2 should decide (see the module)."""
        out: list[str] = []
        _render(self.nodes, context, out)  # read only: a loop writes its variable into a copy
        return "".join(out)


# --- the scanner: text and tags, whitespace control as Jinja2's lexer applies it --------------------


def parse(source: str) -> Template | None:
    """The template, or None when `source` uses anything outside the subset (or is not valid)."""
    pieces = _scan(source)
    return None if pieces is None else _build(pieces)


def _scan(source: str) -> list[Piece] | None:
    # Jinja2's lexer first turns \r\n and \r into \n, in text and string literals alike.
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    pieces: list[Piece] = []
    position, length = 0, len(source)
    line_starting = True  # did the last tag's match end with a newline (Jinja2's `line_starting`)
    while True:
        start = _next_tag(source, position)
        if start < 0:
            pieces.append(("text", source[position:]))
            return pieces
        kind = source[start + 1]
        sign = source[start + 2] if start + 2 < length and source[start + 2] in "-+" else ""
        pieces.append(("text", _before_tag(source[position:start], kind, sign, line_starting)))
        inside = start + 2 + len(sign)
        if kind == "#":
            end = _comment_end(source, inside)
        else:
            lexed = _lex_tag(source, inside, "%}" if kind == "%" else "}}")
            if lexed is None:
                return None
            tokens, end, closing = lexed
            end = _after_tag(source, end, closing, trim_newline=kind == "%")
            piece = _output(tokens) if kind == "{" else _statement(tokens)
            if piece is None:
                return None
            pieces.append(piece)
        if end < 0:
            return None
        position = end
        line_starting = source[end - 1] == "\n"


def _next_tag(source: str, position: int) -> int:
    """Where the next `{{`, `{%` or `{#` starts, or -1."""
    while True:
        brace = source.find("{", position)
        if brace < 0 or brace + 1 >= len(source):
            return -1
        if source[brace + 1] in "{%#":
            return brace
        position = brace + 1


def _before_tag(text: str, kind: str, sign: str, line_starting: bool) -> str:
    """The text before a tag after its whitespace control: `-` strips all trailing whitespace;
    lstrip_blocks strips a block or comment tag's indentation when only whitespace precedes it on
    its line (never for `{{`, never with `+`)."""
    if sign == "-":
        return text.rstrip()
    if sign == "+" or kind == "{":
        return text
    line = text.rfind("\n") + 1
    if (line > 0 or line_starting) and text[line:].isspace():
        return text[:line]
    return text


def _after_tag(source: str, end: int, closing: str, trim_newline: bool) -> int:
    """Where the text after a tag starts: `-%}` eats all whitespace, `%}` one newline
    (trim_blocks, blocks and comments only), `+%}` nothing."""
    if closing == "-":
        while end < len(source) and source[end].isspace():
            end += 1
    elif closing == "" and trim_newline and source.startswith("\n", end):
        end += 1
    return end


def _comment_end(source: str, inside: int) -> int:
    close = source.find("#}", inside)
    if close < 0:
        return -1  # Jinja2 reports the unclosed comment
    closing = source[close - 1] if close > inside and source[close - 1] in "-+" else ""
    return _after_tag(source, close + 2, closing, trim_newline=True)


def _lex_tag(source: str, position: int, closer: str) -> tuple[list[Token], int, str] | None:
    """The tokens of one tag, where its closer ends, and the closer's sign; None outside the subset.

    As in Jinja2, the closer is looked for between tokens and only outside parentheses."""
    tokens: list[Token] = []
    depth, length = 0, len(source)
    while position < length:
        if depth == 0:
            for sign in ("+", "-", "") if closer == "%}" else ("-", ""):
                if source.startswith(sign + closer, position):
                    return tokens, position + len(sign) + 2, sign
        char = source[position]
        if char.isspace():
            position += 1
        elif char in _NAME_START:
            end = position + 1
            while end < length and source[end] in _NAME_CHARS:
                end += 1
            tokens.append(("name", source[position:end]))
            position = end
        elif char in "'\"":
            end = source.find(char, position + 1)
            if end < 0 or "\\" in source[position + 1 : end]:
                return None  # unclosed, or an escape whose meaning Jinja2 decides
            tokens.append(("string", source[position + 1 : end]))
            position = end + 1
        elif source.startswith(("==", "!="), position):
            tokens.append(("op", source[position : position + 2]))
            position += 2
        elif char in ".|(),":
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                return None
            tokens.append(("op", char))
            position += 1
        else:
            return None
    return None  # the tag is not closed


# --- statements and expressions ---------------------------------------------------------------------


def _output(tokens: list[Token]) -> Piece | None:
    expression = _Parser(tokens).whole()
    return None if expression is None else ("output", expression)


def _statement(tokens: list[Token]) -> Piece | None:
    if not tokens or tokens[0][0] != "name":
        return None
    keyword, rest = tokens[0][1], tokens[1:]
    if keyword in ("else", "endif", "endfor"):
        return ("tag", (keyword,)) if not rest else None
    if keyword in ("if", "elif"):
        test = _Parser(rest).whole()
        return None if test is None else ("tag", (keyword, test))
    if keyword == "for" and len(rest) > 2 and rest[0][0] == "name" and rest[1] == ("name", "in"):
        target = rest[0][1]
        iterable = _Parser(rest[2:]).whole()
        if iterable is None or target in _RESERVED:
            return None
        return ("tag", ("for", target, iterable))
    return None


class _Parser:
    """Jinja2's precedence, restricted: or < and < not < comparison < value with .attribute and
    |filter. Recursion is bounded by the grammar (chains are loops), not by the input."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.operators = 0

    def whole(self) -> _Expression | None:
        """The expression of all the tokens, or None (outside the subset, or over the budget)."""
        try:
            expression = self._or()
        except Unsupported:
            return None
        return expression if self.position == len(self.tokens) else None

    def _peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def _take(self) -> Token:
        token = self._peek()
        if token is None:
            raise Unsupported("the expression ends early")
        self.position += 1
        return token

    def _count(self) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise Unsupported("the expression is over the budget")

    def _or(self) -> _Expression:
        expression = self._and()
        while self._peek() == ("name", "or"):
            self._take()
            self._count()
            expression = _Or(expression, self._and())
        return expression

    def _and(self) -> _Expression:
        expression = self._not()
        while self._peek() == ("name", "and"):
            self._take()
            self._count()
            expression = _And(expression, self._not())
        return expression

    def _not(self) -> _Expression:
        negations = 0
        while self._peek() == ("name", "not"):
            self._take()
            self._count()
            negations += 1
        expression = self._compare()
        for _ in range(negations):
            expression = _Not(expression)
        return expression

    def _compare(self) -> _Expression:
        left = self._value()
        operator = self._comparison()
        if operator is None:
            return left
        self._count()
        expression = _Compare(left, operator, self._value())
        if self._comparison() is not None:
            raise Unsupported("a chained comparison")
        return expression

    def _comparison(self) -> str | None:
        """Consume a comparison operator and name it, or None."""
        token = self._peek()
        if token in (("op", "=="), ("op", "!=")) or token == ("name", "in"):
            self._take()
            return token[1] if token is not None else None
        if token == ("name", "not") and self._peek(1) == ("name", "in"):
            self.position += 2
            return "not in"
        return None

    def _value(self) -> _Expression:
        kind, text = self._take()
        if kind == "string" and (self._peek() or ("", ""))[0] != "string":
            expression: _Expression = _Literal(text)
        elif kind == "name" and text not in _RESERVED:
            expression = _Name(text)
        else:
            raise Unsupported(f"{text!r}")
        while self._peek() == ("op", "."):
            self._take()
            kind, name = self._take()
            if kind != "name" or name.startswith("_"):  # the sandbox's refusals are Jinja2's to word
                raise Unsupported(f".{name}")
            self._count()
            expression = _Attribute(expression, name)
        while self._peek() == ("op", "|"):
            self._take()
            self._count()
            expression = self._filter(expression)
        return expression

    def _filter(self, value: _Expression) -> _Expression:
        kind, name = self._take()
        if kind != "name" or name not in _FILTERS:
            raise Unsupported(f"the filter {name!r}")
        argument = None
        if self._peek() == ("op", "("):
            self._take()
            token = self._take()
            if token[0] == "string" and name in _FILTERS_WITH_ARGUMENT:
                argument = token[1]
                token = self._take()
            if token != ("op", ")"):
                raise Unsupported("filter arguments")
        return _Filter(value, _FILTERS[name], argument)


# --- the tree from the pieces -----------------------------------------------------------------------


def _build(pieces: list[Piece]) -> Template | None:
    """Nest the pieces into ifs and fors; None when the blocks do not pair up or nest too deep."""
    root: list[_Node] = []
    open_blocks: list[_If | _For] = []
    for kind, value in pieces:
        body = open_blocks[-1].body() if open_blocks else root
        if kind == "text":
            if value:
                body.append(_Text(value))
        elif kind == "output":
            body.append(_Output(value))
        elif not _apply_tag(value, body, open_blocks):
            return None
    return Template(root) if not open_blocks else None


def _apply_tag(tag: tuple[Any, ...], body: list[_Node], open_blocks: list[_If | _For]) -> bool:
    keyword = tag[0]
    top = open_blocks[-1] if open_blocks else None
    if keyword in ("if", "for"):
        if len(open_blocks) >= MAX_NESTING:
            return False
        block: _If | _For = _If(tag[1]) if keyword == "if" else _For(tag[1], tag[2])
        body.append(block)
        open_blocks.append(block)
        return True
    if keyword == "endfor":
        if not isinstance(top, _For):
            return False
        open_blocks.pop()
        return True
    if not isinstance(top, _If):
        return False
    if keyword == "endif":
        open_blocks.pop()
    elif top.otherwise is not None:
        return False  # elif or else after else
    elif keyword == "elif":
        top.branches.append((tag[1], []))
    else:
        top.otherwise = []
    return True
