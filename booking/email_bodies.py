"""Email bodies rendered once per template, language and shape, then filled in.

A booking email's template (``booking/email/notice.txt``) is mostly the same text for
every booking in a language: its sentences, each a catalogue lookup (``{% translate %}``,
``{% blocktranslate %}``), and which of them show. Rendering it with Django for every
email was about a quarter of the worker's work per email. ``body_render`` renders it once
for each language and *shape* (the values the template compares, and which texts are
empty), with a marker in place of each text, keeps the result split at the markers, and
fills in each email's texts: the same string Django renders from the same values.

What that asks of a template rendered this way: every value it shows is a plain string
(``texts``), shown as it is (``{% autoescape off %}``, no filter but ``default``), or
only tested for being empty; any value it compares or branches on otherwise is a
``flag`` (kept in the key). Tests compare the two renderings for generated values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Mapping

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import translation

# Nothing a template or a catalogue holds contains NUL; a text may, and is never read
# again for markers (the pieces are joined, not searched).
_MARKER = "\x00{}\x00"
_MARKED = re.compile("\x00([a-z_]+)\x00")
# Templates x languages x shapes: a few dozen in practice.
SHAPES_KEPT = 512


def body_render(template: str, *, flags: Mapping[str, Hashable], texts: Mapping[str, str]) -> str:
    """``template`` rendered in the active language with ``flags`` and ``texts`` as its
    context, as ``render_to_string`` renders it (see the module's docstring for what the
    template may do with them)."""
    shape = (
        template,
        translation.get_language(),
        tuple(sorted(flags.items())),
        tuple(sorted((name, bool(text)) for name, text in texts.items())),
    )
    pieces = _pieces(shape)
    # Even places: the template's own text; odd places: the name of a text shown there.
    filled = list(pieces)
    filled[1::2] = [texts[name] for name in pieces[1::2]]
    return "".join(filled)


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _pieces(shape: tuple) -> tuple[str, ...]:
    """The template rendered for ``shape`` with a marker for each non-empty text, split at
    the markers (``re.split``: the names at odd places)."""
    template, _language, flags, texts = shape
    context = dict(flags)
    for name, non_empty in texts:
        context[name] = _MARKER.format(name) if non_empty else ""
    return tuple(_MARKED.split(render_to_string(template, context)))


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    """Tests that change the templates or the catalogues get them rendered anew."""
    if setting in {"TEMPLATES", "LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _pieces.cache_clear()
