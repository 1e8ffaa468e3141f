"""The grounding check on its own: what it finds in a draft and what the facts support."""
from __future__ import annotations

import pytest
from bayline_ai_drafts import grounding

FACTS = ["Dana", "Harbor Collision", "+16175550199", "RO-00042", "2019 Honda Civic", "Liberty Mutual", "LM-8812345",
         "Tuesday, June 9 (2026-06-09)", "$1,240.50", "Tue Jun 9, 10:30 am", "https://harbor.example/hours"]
SUPPORTED = grounding.supported(FACTS)


@pytest.mark.parametrize("text", [
    "Your 2019 Honda Civic (RO-00042) should be ready Tuesday, June 9.",
    "Su carro estará listo el martes 9 de junio.",
    "The balance is $1,240.50; pickup Tue Jun 9 at 10:30 am. Call (617) 555-0199.",
    "Claim LM-8812345 with Liberty Mutual. Hours: https://harbor.example/hours",
    "Ready 6/9, see {portal_link}",
    "Ro 00042 is on track.",
])
def test_supported_details_pass(text):
    assert grounding.check(text, SUPPORTED) == []


@pytest.mark.parametrize(("text", "kind", "bad"), [
    ("Ready Friday 4 pm.", "weekday", "Friday"),
    ("Ready Friday 4 pm.", "time", "4 pm"),
    ("Estará listo el viernes a las 16:00.", "weekday", "viernes"),
    ("Estará listo el 12 de junio.", "date", "12 de junio"),
    ("It will be ready June 12th.", "date", "June 12th"),
    ("Ready tomorrow.", "weekday", "tomorrow"),
    ("Your total is $980.", "amount", "$980"),
    ("Your total is 980 dollars.", "amount", "980 dollars"),
    ("Call 617-555-0123.", "phone", "617-555-0123"),
    ("Pay at https://pay.evil.example/x.", "url", "https://pay.evil.example/x"),
    ("Your claim CLM-55321 is approved.", "number", "CLM-55321"),
])
def test_unsupported_details_are_found(text, kind, bad):
    found = {(s.kind, s.text) for s in grounding.check(text, SUPPORTED)}
    assert (kind, bad) in found


def test_segments_mark_the_unsupported_pieces():
    text = "Ready Friday 4 pm."
    bad = [s.as_dict() for s in grounding.check(text, SUPPORTED)]
    assert grounding.segments(text, bad) == [("Ready ", False), ("Friday", True), (" ", False), ("4 pm", True),
                                             (".", False)]
    # a stale span (the text changed) is ignored rather than marking the wrong words
    assert grounding.segments("Ready Monday.", bad) == [("Ready Monday.", False)]


def test_edit_distance():
    assert grounding.edit_distance("same", "same") == 0
    assert grounding.edit_distance("kitten", "sitting") == 3
    assert grounding.edit_distance("", "abc") == 3
    long_a, long_b = "word " * 1200, "word " * 1199 + "other "
    assert grounding.edit_distance(long_a, long_b) == 1  # words, past a million cells
