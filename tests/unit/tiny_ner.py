"""A five-sentence labelled corpus for real (tiny) training runs, as Docs or a serialised DocBin."""

from __future__ import annotations

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from shared.ner.training import TrainingOptions

ROWS = [
    ("Alice Smith lives in Paris.", [("Alice Smith", "PERSON"), ("Paris", "CITY")]),
    ("Bob Jones moved to Berlin last year.", [("Bob Jones", "PERSON"), ("Berlin", "CITY")]),
    ("Carol White visited Rome in May.", [("Carol White", "PERSON"), ("Rome", "CITY")]),
    ("The meeting in London was led by Dan Brown.", [("London", "CITY"), ("Dan Brown", "PERSON")]),
    ("Frank Green works in Vienna.", [("Frank Green", "PERSON"), ("Vienna", "CITY")]),
]
LABELS = ["PERSON", "CITY"]


def docs(nlp: Language) -> list[Doc]:
    out = []
    for text, entities in ROWS:
        doc = nlp.make_doc(text)
        doc.ents = [
            doc.char_span(text.index(surface), text.index(surface) + len(surface), label=label)
            for surface, label in entities
        ]
        out.append(doc)
    return out


def doc_bin(lang: str = "en") -> bytes:
    bins = DocBin()
    for doc in docs(spacy.blank(lang)):
        bins.add(doc)
    return bins.to_bytes()


def options(
    version: str, *, lang: str = "en", max_steps: int = 60, eval_frequency: int = 10
) -> TrainingOptions:
    """Options of a tiny run with ``version``'s config."""
    return TrainingOptions(
        lang=lang,
        labels=list(LABELS),
        max_steps=max_steps,
        patience=0,
        eval_frequency=eval_frequency,
        seed=0,
        config_version=version,
    )
