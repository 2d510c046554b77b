"""Misspelt query words: "tranformer", "imges", "tabluar" are read as the terms the packs use.

A query word that is not an English word, whose term no loaded document has, is read as the
term one edit away (a letter deleted, inserted, replaced, or two swapped, the first letter
kept) that the most documents have, directly or through a synonym ("convolutonal" ->
"convolutional" -> "cnn"). Terms the packs have are never changed, and neither are English
words the packs happen not to use: without that check "properly" became "property" and
"chance" became "change". Jargon no pack uses ("XK-2231B", "pytorch") stays as it is unless it
is one letter off a pack's word. One edit, not two: two edits reach unrelated words too often.

The English word list is pyspellchecker's (word frequencies from a large corpus), read the
first time a query has a word that might need it. It also gives the word as the user meant it
("sequnces" -> "sequences"), for slot reading and for the note that says what was read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from skillsrv.routing.text import SYNONYMS, stem

LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_WORD = 5  # shorter words have too many neighbours one letter away
MIN_TERM = 4


@cache
def english_words() -> Mapping[str, int]:
    """English words (lowercase) and how common they are; empty without the word list (a
    broken install), and then nothing is corrected rather than something wrongly."""
    try:
        from spellchecker import SpellChecker
    except ImportError:
        return {}
    words: Mapping[str, int] = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return words


def edits(term: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away, with the
    first letter kept: people rarely mistype it, and "created" is not "treated"."""
    splits = [(term[:i], term[i:]) for i in range(1, len(term) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    inserts = {a + c + b for a, b in splits for c in LETTERS}
    return (deletes | swaps | replaces | inserts) - {term}


class Speller:
    """Corrections against one index's vocabulary (term -> IDF: lower is more common)."""

    def __init__(self, idf: Mapping[str, float],
                 english: Callable[[], Mapping[str, int]] = english_words) -> None:
        self._idf = idf
        self._english = english  # called only when a word might need correcting
        self._seen: dict[str, tuple[str, str | None] | None] = {}  # bounded memo, by word

    def warm_up(self) -> None:
        """Read the English word list now rather than on the first unknown word."""
        self._english()

    def correct(self, word: str, term: str) -> tuple[str, str | None] | None:
        """What to read instead of the user's `word` (whose term is `term`): the packs' term,
        and the English word it was probably meant as ("sequnces": "sequenc", "sequences"),
        or None if the word stands as written."""
        if term in self._idf or len(word) < MIN_WORD or len(term) < MIN_TERM \
                or not word.isalpha():
            return None
        if word in self._seen:
            return self._seen[word]
        if len(self._seen) > 100_000:
            self._seen = {}
        english = self._english()
        found = None if not english or word in english else self._closest(term)
        result = (found, self._spelled(word, found, english)) if found is not None else None
        self._seen[word] = result
        return result

    def _closest(self, term: str) -> str | None:
        best: str | None = None
        for candidate in edits(term):
            found = candidate if candidate in self._idf else SYNONYMS.get(candidate)
            if found is None or found not in self._idf:
                continue
            if best is None or (self._idf[found], found) < (self._idf[best], best):
                best = found
        return best

    @staticmethod
    def _spelled(word: str, term: str, english: Mapping[str, int]) -> str | None:
        """The commonest English word one edit from `word` that reads as `term`."""
        spelled = [(english[edit], edit) for edit in edits(word)
                   if edit in english and stem(edit) == term]
        return max(spelled)[1] if spelled else None
