"""A small lexicon-based sentiment scorer for Russian and English, with negation handling.

Why not a model: it runs on every turn on a laptop CPU, must be deterministic for the state
machine's tests, and only needs to move the mood in roughly the right direction.
Rules: word scores from a stem lexicon; a negation within three words before flips and damps
a score ("не плохо" is mildly positive); intensifiers scale the next word; the clause after
"но"/"but" counts more; emoticons count; the sum is squashed into -1..1.
"""

from __future__ import annotations

import math
import re
from typing import Final

from app.soul.lexicon import StemLexicon, is_negation, tokenize

_NEGATION_WINDOW = 3
_NEGATION_FACTOR = -0.6
_SQUASH = 12.0

_INTENSIFIERS: Final = frozenset(
    {
        "очень", "так", "такой", "такая", "сильно", "совсем", "невероятно", "безумно",
        "жутко", "крайне", "весьма", "слишком",
        "very", "so", "really", "extremely", "totally", "super", "incredibly", "too", "truly",
        "absolutely", "deeply",
    }
)  # fmt: skip
_CONTRAST: Final = frozenset({"но", "однако", "зато", "but", "however", "though"})

_LEXICON: Final = StemLexicon(
    {
        # Russian, positive
        "хорош": 2, "отличн": 3, "прекрасн": 3, "замечательн": 3, "любл": 3, "любим": 2,
        "любов": 3, "нрав": 2, "рад$": 2, "рада$": 2, "радост": 3, "счаст": 3, "спасиб": 2,
        "благодар": 2, "класс": 2, "крут": 2, "супер": 2, "весел": 2, "смешн": 1, "умниц": 3,
        "молодец": 3, "обожа": 3, "чудесн": 3, "восхит": 3, "интересн": 1, "мил$": 2,
        "милый": 2, "милая": 2, "милаш": 2,
        "добр": 2, "ура$": 2, "здорово$": 2, "приятн": 2, "кайф": 2, "лучш": 2, "довол": 2,
        "спокойн": 1, "нежн": 2, "тепл": 1, "ласков": 2, "уютн": 2, "ок$": 1, "норм": 1,
        # Russian, negative
        "плох": -2, "ужас": -3, "отвратит": -3, "ненави": -3, "груст": -2, "печал": -2,
        "тоск": -2, "одинок": -2, "злю": -2, "злой": -2, "злая": -2, "злит": -2, "бесит": -3,
        "бесишь": -3,
        "раздража": -2, "дура$": -2, "дурак": -3, "дурацк": -2, "туп": -2, "идиот": -3,
        "кошмар": -3, "хуж": -2, "боль$": -2, "больн": -2, "устал": -1, "скучн": -1,
        "страш": -2, "боюс": -2, "обид": -2, "разочаров": -2, "бесполезн": -3,
        "никчемн": -3, "отстой": -2, "фу$": -1, "проклят": -2, "заткн": -3, "надоел": -2,
        "мерзк": -3, "противн": -2, "гадк": -2, "жаль$": -1, "плак": -2, "депресс": -3,
        "дебил": -3, "кретин": -3, "глуп": -2,
        # English, positive
        "good": 2, "great": 3, "excellent": 3, "wonderful": 3, "amazing": 3, "love": 3,
        "happy": 3, "glad": 2, "thank": 2, "awesome": 3, "cool$": 1, "nice": 2, "fun$": 2,
        "funny": 1, "smart": 2, "brilliant": 3, "beautiful": 3, "cute": 2, "kind$": 2,
        "best": 2, "enjoy": 2, "perfect": 3, "lovely": 3, "sweet": 2, "yay": 2, "calm": 1,
        "proud": 2, "like$": 1, "likes$": 1, "liked$": 1, "fine$": 1, "okay$": 1, "ok$": 1,
        "delight": 3, "cheer": 2, "cozy": 2, "warm$": 1, "adore": 3,
        # English, negative
        "bad$": -2, "terribl": -3, "awful": -3, "horribl": -3, "hate": -3, "sad$": -2,
        "sadly": -1, "sadness": -2, "unhappy": -2, "lonely": -2, "angry": -2, "annoy": -2,
        "stupid": -3, "idiot": -3, "dumb": -2, "useless": -3, "worst": -3, "worse": -2,
        "tired": -1, "bored": -1, "boring": -2, "scared": -2, "afraid": -2, "hurt": -2,
        "pain": -2, "depress": -3, "cry": -2, "crying": -2, "miserable": -3, "disappoint": -2,
        "pathetic": -3, "suck": -2, "ugly": -2, "upset": -2, "wrong": -1, "fail": -2,
        "disgust": -3, "shut$": -1, "lousy": -2, "moron": -3, "worthless": -3,
    }
)  # fmt: skip

_POSITIVE_EMOTICONS: Final = re.compile(r"[:;=]-?[)D]|\){2,}|[😀😃😄😊🙂😍🥰😂❤♥👍✨🤗]")
_NEGATIVE_EMOTICONS: Final = re.compile(r"[:;=]-?\(|\({2,}|[😢😭😡👎💔😞😠😔]")


def score_sentiment(text: str) -> float:
    """Sentiment of a message in -1..1 (0 for neutral or empty text)."""
    tokens = tokenize(text)
    total = 0.0
    last_negation = -_NEGATION_WINDOW - 1
    boost = 1.0
    clause_weight = 1.0
    for index, token in enumerate(tokens):
        if is_negation(token):
            last_negation = index
            continue
        if token in _INTENSIFIERS:
            boost = 1.5
            continue
        if token in _CONTRAST:
            total *= 0.5  # what comes after "but" matters more
            clause_weight = 1.5
            continue
        value = _LEXICON.lookup(token)
        if value is None:
            continue
        value *= boost
        boost = 1.0
        if index - last_negation <= _NEGATION_WINDOW:
            value *= _NEGATION_FACTOR
            last_negation = -_NEGATION_WINDOW - 1
        total += value * clause_weight
    total += 1.5 * min(3, len(_POSITIVE_EMOTICONS.findall(text)))
    total -= 1.5 * min(3, len(_NEGATIVE_EMOTICONS.findall(text)))
    if total and "!" in text:
        total *= 1.0 + 0.1 * min(3, text.count("!"))
    return total / math.sqrt(total * total + _SQUASH)
