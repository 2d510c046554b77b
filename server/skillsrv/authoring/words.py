"""Words in descriptions: which carry a domain, and how alike two descriptions are.

A client picks a skill by its name and description, so a description must name its domain
("CNN backbones for medical images"), not just its genre ("helps with data stuff"). Terms come
from the router's tokenizer (stopwords dropped, light stemming), so lint measures descriptions
the way routing reads them.
"""

from __future__ import annotations

import re

from skillsrv.routing.text import stem, terms

# Words that fit any skill: they say what kind of thing a skill is, never which domain.
GENERIC = frozenset(stem(word) for word in """
data stuff thing things item items information info content everything anything something
help helps helper helpful assist assists assistant support supports tool tools toolkit utility
utilities misc miscellaneous various general generic work works process processes processing
handle handles handling manage manages managing task tasks job jobs skill skills guide guides
guidance good better best useful simple basic easy quick fast do does doing done make makes
made create creates creating run runs running analyze analyzes analysis analyse operation
operations issue issues problem problems question questions answer answers request requests
user users people file files project projects system systems solution solutions approach
""".split())

# "Use when ...", "Load before ...", "... whenever ...": the description says when it applies.
TRIGGER_PHRASE = re.compile(r"\b(use|used|invoke|load|apply|activate|trigger)\b[^.]*?\b(when|if|"
                            r"whenever|before|after|for|to|on)\b|\bwhen(ever)?\b",
                            re.IGNORECASE)


def content_terms(text: str) -> set[str]:
    """Distinct stemmed terms of `text` without stopwords."""
    return set(terms(text))


def domain_terms(text: str) -> set[str]:
    """Terms that name a domain: content terms that are not generic and not bare numbers."""
    return {term for term in content_terms(text)
            if term not in GENERIC and len(term) > 2 and not term.isdigit()}


def identity_terms(name: str, description: str) -> set[str]:
    """What a client sees of a skill before loading it: its name and its description."""
    return content_terms(name.replace("-", " ") + " " + description)


def jaccard(first: set[str], second: set[str]) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def says_when(description: str) -> bool:
    """Does the description say when to use the skill ("Use when ...", "... when X")?"""
    return bool(TRIGGER_PHRASE.search(description))
