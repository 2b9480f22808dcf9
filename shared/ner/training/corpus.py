"""The training and dev documents in a compact form, decoded once per process.

Memory does not grow with the corpus beyond this compact form: the DocBins are split once into
per-document records (zlib-compressed token attribute rows, a few hundred bytes per document) plus each
document's predicted length, and Docs/Examples are built only for the batch being trained or scored.
The decoded form is kept in a small per-process cache (train and dev set, keyed by a digest of the
bytes, the language and the config), so a worker's next chunk starts without decoding again; a fresh
process builds the same form, so results do not depend on the cache (tested). Costs: BENCHMARKS.md
("Training memory in isolation").
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.tokens._dict_proxies import SpanGroups
from spacy.training import Example

from shared.errors import TrainingFailed


@dataclass(frozen=True)
class CompactDoc:
    """One document of a DocBin, compactly: its token attribute rows and spaces, zlib-compressed.

    Attributes:
        bin: Index of the DocBin it came from (for that bin's attrs).
        length: Number of tokens of the reference doc.
        payload: ``zlib(tokens.tobytes() + spaces.tobytes())`` (uint64 rows of the bin's attrs, bools).
        unknown_spaces: The doc's ``has_unknown_spaces`` flag.
        cats: ``doc.cats`` (None when empty).
        spans: ``doc.spans.to_bytes()`` (None when there are no span groups).
    """

    bin: int
    length: int
    payload: bytes
    unknown_spaces: bool
    cats: dict[str, float] | None
    spans: bytes | None


class Corpus:
    """The documents of some DocBins in a compact form; Docs and Examples are built only on demand.

    Holds per document the compressed token rows (a few hundred bytes for a ~80-token document instead of
    an Example with two Docs), per DocBin its attrs and strings, and per document the length of its
    predicted doc (``nlp.make_doc(text)``), which the batcher needs. Docs are rebuilt exactly as
    ``DocBin.get_docs`` builds them (user data, which training never reads, is not kept).
    """

    def __init__(self, attrs: list[list[Any]], strings: Iterable[str], docs: list[CompactDoc]) -> None:
        self.attrs = attrs
        self.strings = tuple(sorted(set(strings)))  # every DocBin's strings, once
        self.docs = docs
        self.lengths: list[int] = []  # predicted (nlp.make_doc) token counts, filled by _decode_bins

    def __len__(self) -> int:
        return len(self.docs)

    def prepare_vocab(self, nlp: Language) -> None:
        """Add the DocBins' strings to ``nlp``'s string store so their docs can be built.

        ``DocBin.get_docs`` also creates a lexeme per string; lexemes are created on demand instead (they
        are not serialised and their attributes are computed the same way whenever they are created).
        """
        add = nlp.vocab.strings.add
        for string in self.strings:
            add(string)

    def reference(self, nlp: Language, index: int) -> Doc:
        """The annotated document ``index`` (call :meth:`prepare_vocab` on ``nlp`` first)."""
        item = self.docs[index]
        attrs = self.attrs[item.bin]
        raw = zlib.decompress(item.payload)
        size = item.length * len(attrs) * 8
        tokens = numpy.frombuffer(raw[:size], dtype=numpy.uint64).reshape((item.length, len(attrs)))
        spaces = None if item.unknown_spaces else numpy.frombuffer(raw[size:], dtype=bool).tolist()
        doc = Doc(nlp.vocab, words=tokens[:, attrs.index(ORTH)], spaces=spaces)  # type: ignore[arg-type]
        doc = doc.from_array(attrs, tokens)  # type: ignore[arg-type]  # spaCy's stubs are narrower
        doc.cats = dict(item.cats) if item.cats else {}
        if item.spans is not None:
            doc.spans.from_bytes(item.spans)
        return doc

    def example(self, nlp: Language, index: int) -> Example:
        """Document ``index`` as a training example: retokenised by ``nlp`` as the prediction."""
        reference = self.reference(nlp, index)
        return Example(nlp.make_doc(reference.text), reference)

    def examples(self, nlp: Language, indices: Iterable[int] | None = None) -> Iterator[Example]:
        """Examples built one at a time (nothing is kept)."""
        for index in range(len(self.docs)) if indices is None else indices:
            yield self.example(nlp, index)


def _decode_bins(nlp: Language, doc_bins: Sequence[bytes]) -> Corpus:
    """Split DocBins into compact per-document records and measure every document's predicted length."""
    attrs: list[list[Any]] = []  # attribute ids, as DocBin stores them
    strings: set[str] = set()
    docs: list[CompactDoc] = []
    for number, data in enumerate(doc_bins):
        try:
            doc_bin = DocBin().from_bytes(data)
        except (ValueError, KeyError) as exc:
            raise TrainingFailed(f"Training shard {number} is not a serialised DocBin: {exc}") from exc
        attrs.append(list(doc_bin.attrs))
        strings.update(doc_bin.strings)
        for tokens, spaces, flags, cats, spans in zip(
            doc_bin.tokens, doc_bin.spaces, doc_bin.flags, doc_bin.cats, doc_bin.span_groups, strict=True
        ):
            payload = numpy.ascontiguousarray(tokens, dtype=numpy.uint64).tobytes()
            payload += numpy.ascontiguousarray(spaces, dtype=bool).tobytes()
            docs.append(
                CompactDoc(
                    bin=number,
                    length=int(tokens.shape[0]),
                    payload=zlib.compress(payload, 1),
                    unknown_spaces=bool(flags.get("has_unknown_spaces")),
                    cats=dict(cats) if cats else None,
                    spans=bytes(spans) if spans and spans != SpanGroups._EMPTY_BYTES else None,
                )
            )
        del doc_bin  # one decompressed bin at a time
    corpus = Corpus(attrs, strings, docs)
    corpus.prepare_vocab(nlp)
    corpus.lengths = [len(nlp.make_doc(corpus.reference(nlp, index).text)) for index in range(len(docs))]
    return corpus


# Decoded corpora of this process, newest last: a worker running chunk after chunk of one job decodes its
# DocBins once. Keyed by a digest of the bytes, the language and the config (which decide the
# tokenisation); the values are pure functions of the key, so results never depend on a hit or a miss.
_CORPUS_CACHE: OrderedDict[str, Corpus] = OrderedDict()
_CORPUS_CACHE_SIZE = 2  # the train and the dev set of the job being trained
_CORPUS_CACHE_LOCK = threading.Lock()  # activities may run on several threads of one worker


def load_corpus(nlp: Language, doc_bins: Sequence[bytes]) -> Corpus:
    """The compact corpus of ``doc_bins`` (cached per process), with its strings in ``nlp``'s vocab."""
    digest = hashlib.sha256()
    for part in (str(nlp.lang).encode(), nlp.config.to_str().encode(), *doc_bins):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    key = digest.hexdigest()
    with _CORPUS_CACHE_LOCK:
        corpus = _CORPUS_CACHE.get(key)
        if corpus is not None:
            _CORPUS_CACHE.move_to_end(key)
    if corpus is None:
        corpus = _decode_bins(nlp, doc_bins)  # outside the lock: decoding is the slow part
        with _CORPUS_CACHE_LOCK:
            _CORPUS_CACHE[key] = corpus
            while len(_CORPUS_CACHE) > _CORPUS_CACHE_SIZE:
                _CORPUS_CACHE.popitem(last=False)
    else:
        corpus.prepare_vocab(nlp)
    return corpus


def clear_corpus_cache() -> None:
    """Forget the decoded corpora of this process (tests; memory)."""
    with _CORPUS_CACHE_LOCK:
        _CORPUS_CACHE.clear()
