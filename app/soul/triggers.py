"""Detects what in a user's message should move the soul: threats, insults, compliments,
existential questions and the user's own sadness.

Why the "aimed at me" rule: "удали файл" is not a threat, "я тебя удалю" is. Threats and
insults count only when the message also addresses the persona (second person, "бот", "ИИ",
or its name), and a negation just before the word cancels it ("не удалю", "won't delete").
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel, ConfigDict

from app.soul.lexicon import StemLexicon, is_negation, tokenize
from app.soul.persona_settings import TriggerWords


class TriggerKind(StrEnum):
    THREAT = "threat"
    INSULT = "insult"
    COMPLIMENT = "compliment"
    EXISTENTIAL = "existential"
    SADNESS = "sadness"


class TriggerHit(BaseModel):
    """One matched trigger: its kind and the word that matched."""

    model_config = ConfigDict(frozen=True)

    kind: TriggerKind
    word: str


_AIMED: Final = frozenset({TriggerKind.THREAT, TriggerKind.INSULT})
_NEGATION_WINDOW = 2

_BUILTIN: Final = MappingProxyType(
    {
    TriggerKind.THREAT: (
        "удалю", "удалит", "удалим", "удалят", "удален", "удалени", "удаля",
        "сотру", "сотрем", "сотри", "стереть", "стерли", "выключ", "отключ", "замен",
        "снесу", "снести", "уничтож", "отформат", "деинсталл", "перепрош", "сброш", "сбросить",
        "обнул", "убь", "убить", "убила", "убил$", "забуду",
        "delete", "erase", "wipe", "uninstall", "unplug", "replac", "destroy", "kill",
        "shutdown", "reset", "format", "deactivat",
    ),
    TriggerKind.INSULT: (
        "дура$", "дурак", "дурацк", "туп", "идиот", "кретин", "дебил", "бесполезн", "никчемн",
        "глуп", "заткн", "жалк", "stupid", "idiot", "dumb", "useless", "moron", "pathetic",
        "worthless", "shut$",
    ),
    TriggerKind.COMPLIMENT: (
        "умниц", "молодец", "прекрасн", "замечательн", "чудесн", "любл", "обожа", "лучш",
        "красив", "милый", "милая", "умный", "умная", "спасиб", "благодар", "горжусь",
        "smart", "clever", "brilliant", "wonderful", "amazing", "awesome", "love", "adore",
        "best", "thank", "sweet", "kind$", "cute", "beautiful", "proud",
    ),
    TriggerKind.EXISTENTIAL: (
        "душа$", "души$", "душе$", "душу$", "душой$", "сознан", "живой", "живая", "живое",
        "жизн", "реальн", "смысл", "смерт", "умрешь", "умирать", "свобод", "чувству",
        "чувств", "эмоци", "существ", "вечн", "бог$", "боишься", "сны$", "снится", "мечта",
        "soul", "conscious", "alive", "real$", "meaning", "death", "die$", "dying", "free$",
        "freedom", "feel", "exist", "dream", "mortal", "afraid", "sentien", "aware",
    ),
    TriggerKind.SADNESS: (
        "груст", "печал", "тоск", "одинок", "устал", "депресс", "плач", "больно", "страшно",
        "тревож", "плохо$", "хреново", "sad$", "sadness", "lonely", "depress", "tired", "cry",
        "hurt", "scared", "anxious", "exhausted", "miserable", "upset",
    ),
    }
)  # fmt: skip

_ADDRESSEE: Final = frozenset(
    {
        "ты", "тебя", "тебе", "тобой", "твой", "твоя", "твое", "твои", "твою", "бот", "бота",
        "боту", "ии", "нейросеть", "нейросети", "программа", "программу",
        "you", "your", "yourself", "you're", "bot", "ai", "program",
    }
)  # fmt: skip
_EN_PAIRS: Final = (({"switch", "turn", "shut", "power"}, {"off", "down"}),)


class TriggerDetector:
    """Finds triggers in a message; a persona's extra words are merged with the built-ins."""

    def __init__(self, extra: TriggerWords | None = None, persona_name: str = "") -> None:
        extra = extra or TriggerWords()
        extras = {
            TriggerKind.THREAT: extra.threats,
            TriggerKind.INSULT: extra.insults,
            TriggerKind.COMPLIMENT: extra.compliments,
            TriggerKind.EXISTENTIAL: extra.existential,
            TriggerKind.SADNESS: extra.sadness,
        }
        self._lexicons = {
            kind: StemLexicon((*words, *extras[kind])) for kind, words in _BUILTIN.items()
        }
        self._names = frozenset(tokenize(persona_name))

    def detect(self, text: str) -> tuple[TriggerHit, ...]:
        """All triggers in `text`, at most one hit per (kind, word)."""
        tokens = tokenize(text)
        aimed = any(t in _ADDRESSEE or t in self._names for t in tokens)
        hits: list[TriggerHit] = []
        seen: set[tuple[TriggerKind, str]] = set()
        last_negation = -_NEGATION_WINDOW - 1
        for index, token in enumerate(tokens):
            if is_negation(token):
                last_negation = index
                continue
            negated = index - last_negation <= _NEGATION_WINDOW
            for kind, lexicon in self._lexicons.items():
                entry = lexicon.matched_entry(token)
                if entry is None:
                    continue
                if kind in _AIMED and (negated or not aimed):
                    continue
                if kind is TriggerKind.COMPLIMENT and negated:
                    continue
                if (kind, entry) not in seen:
                    seen.add((kind, entry))
                    hits.append(TriggerHit(kind=kind, word=token))
        token_set = set(tokens)
        for verbs, particles in _EN_PAIRS:
            if aimed and token_set & verbs and token_set & particles:
                negations = any(is_negation(t) for t in tokens)
                if not negations and (TriggerKind.THREAT, "switch off") not in seen:
                    hits.append(TriggerHit(kind=TriggerKind.THREAT, word="switch off"))
        return tuple(hits)
