"""The brand stylesheet and the Enterprise custom CSS, parsed with tinycss2 and allow-listed.

Custom CSS is refused (nothing stored) unless every part of it is: plain style rules (no at-rule
at all: no ``@import``, ``@font-face``, ``@media``), each selector scoped under ``.branded``
(the portal's ``<body>`` class), declarations whose property is on :data:`PROPERTIES`, and values
made of idents, numbers, dimensions, percentages, hash colours and the colour functions
:data:`FUNCTIONS`: no ``url(...)`` (so no ``url(javascript:...)``), no ``expression(...)``, no
strings, no ``!important``. It is served as a stylesheet from this origin, so the portal's CSP
(``style-src 'self'``, no inline styles at all) stays as strict as it is.
"""
from __future__ import annotations

from typing import Any

import tinycss2
from tinycss2 import ast as css_ast

SCOPE = ".branded"
MAX_CSS = 20_000
PROPERTIES = frozenset({
    "color", "background-color", "border-color", "border-width", "border-style", "border", "border-top",
    "border-bottom", "border-left", "border-right", "border-radius", "font-weight", "font-style", "font-size",
    "letter-spacing", "line-height", "text-transform", "text-decoration", "text-align", "padding", "padding-top",
    "padding-bottom", "padding-left", "padding-right", "margin", "margin-top", "margin-bottom", "margin-left",
    "margin-right", "box-shadow", "opacity", "outline-color"})
FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla"})


class CssRefused(ValueError):
    """Custom CSS that is not accepted; ``str()`` says where and why."""


def _where(node: Any) -> str:
    return f"line {getattr(node, 'source_line', '?')}"


def _check_value(tokens: list[Any], prop: str) -> None:
    for token in tokens:
        if isinstance(token, (css_ast.WhitespaceToken, css_ast.Comment)):
            continue
        if isinstance(token, css_ast.URLToken) or (
                isinstance(token, css_ast.FunctionBlock) and token.lower_name == "url") or (
                isinstance(token, css_ast.ParseError) and token.kind == "bad-url"):
            raise CssRefused(f"{_where(token)}: url(...) is not allowed ({prop})")
        if isinstance(token, css_ast.FunctionBlock):
            if token.lower_name not in FUNCTIONS:
                raise CssRefused(f"{_where(token)}: {token.name}(...) is not allowed ({prop}); "
                                 f"only {', '.join(sorted(FUNCTIONS))}")
            _check_value(token.arguments, prop)
        elif isinstance(token, css_ast.IdentToken):
            if token.lower_value in ("expression", "javascript") or ":" in token.value:
                raise CssRefused(f"{_where(token)}: {token.value!r} is not allowed ({prop})")
        elif isinstance(token, (css_ast.NumberToken, css_ast.DimensionToken, css_ast.PercentageToken,
                                css_ast.HashToken)):
            continue
        elif isinstance(token, css_ast.LiteralToken) and token.value in (",", "/"):
            continue
        else:
            raise CssRefused(f"{_where(token)}: {token.serialize()[:40]!r} is not allowed in a value ({prop})")


def _scoped_selector(prelude: list[Any], rule: Any) -> str:
    text = tinycss2.serialize(prelude).strip()
    if not text or any(ch in text for ch in "{}<\\@;") or len(text) > 300:
        raise CssRefused(f"{_where(rule)}: selector {text[:40]!r} is not allowed")
    parts = [part.strip() for part in text.split(",")]
    if any(not part or part.lower().startswith(("html", "body", ":root")) for part in parts):
        raise CssRefused(f"{_where(rule)}: selectors stay inside the page (not html, body or :root)")
    return ", ".join(f"{SCOPE} {part}" for part in parts)


def sanitise(source: str) -> str:
    """The accepted, scoped stylesheet for ``source``; :class:`CssRefused` for anything else."""
    if len(source) > MAX_CSS:
        raise CssRefused(f"at most {MAX_CSS:,} characters")
    rules = tinycss2.parse_stylesheet(source, skip_comments=True, skip_whitespace=True)
    out: list[str] = []
    for rule in rules:
        if isinstance(rule, css_ast.ParseError):
            raise CssRefused(f"{_where(rule)}: {rule.message}")
        if isinstance(rule, css_ast.AtRule):
            raise CssRefused(f"{_where(rule)}: @{rule.at_keyword} is not allowed (no at-rules: no @import, "
                             "@font-face or @media)")
        if not isinstance(rule, css_ast.QualifiedRule):
            raise CssRefused(f"{_where(rule)}: not a style rule")
        selector = _scoped_selector(rule.prelude, rule)
        declarations = []
        for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
            if isinstance(item, css_ast.ParseError):
                raise CssRefused(f"{_where(item)}: {item.message}")
            if not isinstance(item, css_ast.Declaration):
                raise CssRefused(f"{_where(item)}: only declarations inside a rule")
            if item.lower_name not in PROPERTIES:
                raise CssRefused(f"{_where(item)}: the property {item.name!r} is not allowed")
            if item.important:
                raise CssRefused(f"{_where(item)}: !important is not allowed ({item.name})")
            _check_value(item.value, item.lower_name)
            declarations.append(f"{item.lower_name}:{tinycss2.serialize(item.value).strip()}")
        if declarations:
            out.append(f"{selector}{{{';'.join(declarations)}}}")
    return "\n".join(out)


def stylesheet(tokens: dict[str, Any], custom: str | None = None) -> str:
    """The brand stylesheet: the tokens as the design layer's CSS variables, the branded header, and
    the (already sanitised) custom rules."""
    primary, ink, surface, accent = (tokens["primary"], tokens["text_on_primary"], tokens["surface"],
                                     tokens["accent"])
    css = (
        f":root{{--accent:{primary};--accent-ink:{ink};--surface:{surface};--brand-accent:{accent};"
        f"--radius:{int(tokens['radius'])}px;--brand-primary:{primary};--brand-on-primary:{ink}}}\n"
        ".branded .shop{background:var(--brand-primary);color:var(--brand-on-primary);border-bottom:0}\n"
        ".branded .shop .call,.branded .shop .shop-location{color:var(--brand-on-primary)}\n"
        ".branded .step.current::before{background:var(--brand-accent);border-color:var(--brand-accent)}\n")
    if custom:
        # re-checked on the way out too: a value stored before a rule tightened is never served
        css += "/* custom (Enterprise) */\n" + sanitise(custom) + "\n"
    return css
