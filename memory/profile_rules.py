"""Profile facts read from a message by rules (Russian and English), no model needed.

Why rules beside the model: a 135M or 1.5B model extracts facts unreliably (it invents, or
misses "у меня кот по имени Барсик"), and the rules cost microseconds. They cover what a
companion must never forget — the user's name, people and pets with their names, where
the user and their people live, allergies, likes and dislikes, birthdays — and the promises
the companion itself made. Each fact's `subject` is its identity for de-duplication: a
later "my name is Ann" replaces "my name is Anna" instead of standing beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from memory.profile_types import FactDraft

_NAME = r"([A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ][a-zа-яё]+)?)"  # a capitalised name
_ANYNAME = r"([A-Za-zА-Яа-яЁё][a-zа-яё]+(?:-[A-Za-zА-Яа-яЁё][a-zа-яё]+)?)"  # after "зовут"
_PLACE = r"([A-ZА-ЯЁ][\w-]+(?:[ -][A-ZА-ЯЁ][\w-]+)?)"
_THING = r"([^.,!?;:\n]{2,48}?)"
_END = r"(?=\s*(?:[.,!?;:\n]|$|\s(?:и|а|но|and|but|because|потому)\s))"

_I = re.IGNORECASE
_PETS_RU = (
    r"(кот[аи]?к?[а]?|кошк[аиу]|кошечк[аиу]|собак[аиу]|пёс|пес|пса|щенок|щенк[аи]|котён[оа]к|"
    r"котенок|попуга[йя]|хомяк[а]?|черепах[аиу]|кролик[а]?|рыбк[аиу])"
)
_PET_RU_BASE = {
    "кошку": "кошка",
    "кошки": "кошка",
    "кошечку": "кошка",
    "кошечки": "кошка",
    "кошечка": "кошка",
    "котик": "кот",
    "кота": "кот",
    "котика": "кот",
    "собаку": "собака",
    "собаки": "собака",
    "пса": "пёс",
    "пес": "пёс",
    "щенка": "щенок",
    "щенки": "щенок",
    "котёнка": "котёнок",
    "котенок": "котёнок",
    "котенка": "котёнок",
    "попугая": "попугай",
    "хомяка": "хомяк",
    "черепаху": "черепаха",
    "черепахи": "черепаха",
    "кролика": "кролик",
    "рыбку": "рыбка",
    "рыбки": "рыбка",
}
_PETS_EN = r"(cat|dog|puppy|kitten|parrot|hamster|rabbit|bunny|turtle|fish|horse|bird)"
_KIN_RU = (
    r"(сестр[аыу]|брат[а]?|мам[аыу]|матери|мать|пап[аыу]|отц[а]?|отец|жен[аыу]|муж[а]?|"
    r"доч[ьк]?[аи]?|дочь|сын[а]?|подруг[аиу]|друг[а]?|бабушк[аиу]|дедушк[аиу]|"
    r"тёт[яиу]|тет[яиу]|дяд[яиу]|парень|парня|девушк[аиу]|коллег[аиу]|начальник[а]?)"
)
_KIN_RU_BASE = {
    "сестры": "сестра",
    "сестру": "сестра",
    "брата": "брат",
    "мамы": "мама",
    "маму": "мама",
    "матери": "мама",
    "мать": "мама",
    "папы": "папа",
    "папу": "папа",
    "отца": "папа",
    "отец": "папа",
    "жены": "жена",
    "жену": "жена",
    "мужа": "муж",
    "дочка": "дочь",
    "дочки": "дочь",
    "дочери": "дочь",
    "сына": "сын",
    "подруги": "подруга",
    "подругу": "подруга",
    "друга": "друг",
    "бабушки": "бабушка",
    "бабушку": "бабушка",
    "дедушки": "дедушка",
    "дедушку": "дедушка",
    "тёти": "тётя",
    "тётю": "тётя",
    "тетя": "тётя",
    "тети": "тётя",
    "тетю": "тётя",
    "дяди": "дядя",
    "дядю": "дядя",
    "парня": "парень",
    "девушки": "девушка",
    "девушку": "девушка",
    "коллеги": "коллега",
    "коллегу": "коллега",
    "начальника": "начальник",
}
_KIN_EN = (
    r"(sister|brother|mom|mum|mother|dad|father|wife|husband|daughter|son|friend|"
    r"best friend|grandma|grandmother|grandpa|grandfather|aunt|uncle|boyfriend|girlfriend|"
    r"partner|colleague|boss|cousin)"
)
_KIN_RU_LABEL = {"дочь": "Дочь", "мама": "Мама", "папа": "Папа"}


def _base(word: str, table: dict[str, str]) -> str:
    word = word.lower()
    return table.get(word, word)


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _clean(thing: str) -> str:
    return " ".join(thing.strip(" \"'«»“”").split())


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], FactDraft | None]]


def _user_rules() -> list[Rule]:
    rules: list[Rule] = []

    def add(pattern: str, make: Callable[[re.Match[str]], FactDraft | None], flags: int = _I):
        rules.append((re.compile(pattern, flags), make))

    # -- name ----------------------------------------------------------------------------
    add(
        r"\b(?:меня\s+зовут|моё\s+имя|мое\s+имя|зови\s+меня|называй\s+меня)\s+" + _ANYNAME,
        lambda m: FactDraft("name", "self", f"Имя пользователя: {_cap(m[1])}"),
    )
    add(
        r"\b(?:my\s+name\s+is|my\s+name's|call\s+me)\s+" + _ANYNAME,
        lambda m: FactDraft("name", "self", f"The user's name is {_cap(m[1])}"),
    )
    add(
        r"(?:^|[.!?]\s+)(?:(?:[Hh]i|[Hh]ello|[Hh]ey)[,!]?\s*)?(?:[Ii]'m|[Ii]\s+am)\s+"
        + _NAME
        + r"(?=\s*[.,!]|$)",
        lambda m: FactDraft("name", "self", f"The user's name is {m[1]}"),
        0,
    )
    # -- pets ----------------------------------------------------------------------------
    add(
        r"\bу\s+меня\s+(?:есть\s+)?(?:\w+\s+)?" + _PETS_RU + r"[,\s—-]*(?:по\s+имени|по\s+кличке|"
        r"(?:его|её|ее)\s+зовут|зовут|—|-)\s*" + _ANYNAME,
        lambda m: _pet_ru(m[1], m[2]),
    )
    add(
        r"\b(?:моего|мою|мой|моя|нашего|нашу|наш|наша)\s+" + _PETS_RU + r"\s+зовут\s+" + _ANYNAME,
        lambda m: _pet_ru(m[1], m[2]),
    )
    add(
        r"\b(?:мой|моя|наш|наша)\s+" + _PETS_RU + r"\s+" + _NAME + r"\b",
        lambda m: _pet_ru(m[1], m[2]),
        0,
    )
    add(
        r"\bi\s+(?:have|got|adopted)\s+an?\s+(?:\w+\s+)?"
        + _PETS_EN
        + r"\s*,?\s*(?:named|called)\s+"
        + _ANYNAME,
        lambda m: FactDraft(
            "pet", m[1].lower(), f"The user has a {m[1].lower()} named {_cap(m[2])}"
        ),
    )
    add(
        r"\bmy\s+" + _PETS_EN + r"(?:'s\s+name\s+is|\s+is\s+(?:called|named))\s+" + _ANYNAME,
        lambda m: FactDraft(
            "pet", m[1].lower(), f"The user has a {m[1].lower()} named {_cap(m[2])}"
        ),
    )
    add(
        r"\b[Mm]y\s+" + _PETS_EN + r",?\s+" + _NAME + r"\b",
        lambda m: FactDraft("pet", m[1].lower(), f"The user has a {m[1].lower()} named {m[2]}"),
        0,
    )
    # -- people, and where they live ----------------------------------------------------
    add(
        r"\b(?:[Мм]оя|[Мм]ой|[Уу]\s+меня\s+(?:есть\s+)?)\s*(?:старш\w+\s+|младш\w+\s+|лучш\w+\s+)?"
        + _KIN_RU
        + r",?\s+(?:по\s+имени\s+|зовут\s+)?"
        + _NAME
        + r"(?:,?\s+(?:\w+\s+){0,3}?(?:живёт|живет|работает|учится)\s+в\s+"
        + _PLACE
        + r")?",
        lambda m: _kin_ru(m[1], m[2], m[3]),
        0,
    )
    add(
        r"\b[Mm]y\s+(?:older\s+|younger\s+|little\s+|big\s+|best\s+)?"
        + _KIN_EN
        + r",?\s+(?:is\s+(?:called|named)\s+)?"
        + _NAME
        + r"(?:,?\s+(?:\w+\s+){0,3}?(?:lives|works|studies)\s+in\s+"
        + _PLACE
        + r")?",
        lambda m: _kin_en(m[1], m[2], m[3]),
        0,
    )
    # -- the user's places --------------------------------------------------------------
    add(
        r"\b[Яя]\s+(?:сейчас\s+)?(?:живу|работаю)\s+в\s+" + _PLACE,
        lambda m: FactDraft("place", "home", f"Пользователь живёт в {m[1]}"),
        0,
    )
    add(
        r"\b[Яя]\s+(?:родом\s+)?из\s+" + _PLACE,
        lambda m: FactDraft("place", "origin", f"Пользователь родом из {m[1]}"),
        0,
    )
    add(
        r"\b(?:[Ii]\s+live|[Ii]'m\s+living|[Ii]\s+moved)\s+(?:in|to)\s+" + _PLACE,
        lambda m: FactDraft("place", "home", f"The user lives in {m[1]}"),
        0,
    )
    add(
        r"\b(?:[Ii]'m|[Ii]\s+am|[Ii]\s+come)\s+from\s+" + _PLACE,
        lambda m: FactDraft("place", "origin", f"The user is from {m[1]}"),
        0,
    )
    # -- allergies -------------------------------------------------------------------------
    add(
        r"\bаллерги[яюи]\s+на\s+" + _THING + _END,
        lambda m: FactDraft("allergy", _clean(m[1]).lower(), f"Аллергия на {_clean(m[1])}"),
    )
    add(
        r"\b(?:i'm|i\s+am)\s+(?:very\s+|severely\s+|really\s+)?allergic\s+to\s+" + _THING + _END,
        lambda m: FactDraft(
            "allergy", _clean(m[1]).lower(), f"The user is allergic to {_clean(m[1])}"
        ),
    )
    add(
        r"\bi\s+have\s+an?\s+([\w-]{2,30})\s+allergy\b",
        lambda m: FactDraft("allergy", m[1].lower(), f"The user is allergic to {m[1].lower()}"),
    )
    # -- likes and dislikes ----------------------------------------------------------------
    add(
        r"\bя\s+(?:очень\s+|просто\s+)?(?:люблю|обожаю)\s+" + _THING + _END,
        lambda m: _like(m[1], "like", "Пользователь любит {}"),
    )
    add(
        r"\bмне\s+(?:очень\s+)?(?:нравится|нравятся)\s+" + _THING + _END,
        lambda m: _like(m[1], "like", "Пользователю нравится {}"),
    )
    add(
        r"\bя\s+(?:терпеть\s+не\s+могу|ненавижу|не\s+люблю)\s+" + _THING + _END,
        lambda m: _like(m[1], "dislike", "Пользователь не любит {}"),
    )
    add(
        r"\bi\s+(?:really\s+|absolutely\s+)?(?:love|like|adore|enjoy)\s+" + _THING + _END,
        lambda m: _like(m[1], "like", "The user likes {}"),
    )
    add(
        r"\bi\s+(?:really\s+)?(?:hate|dislike|can't\s+stand|don't\s+like)\s+" + _THING + _END,
        lambda m: _like(m[1], "dislike", "The user dislikes {}"),
    )
    # -- dates ---------------------------------------------------------------------------
    add(
        r"\b(?:мой\s+день\s+рождения|у\s+меня\s+день\s+рождения|я\s+родил(?:ся|ась))\s+"
        r"(\d{1,2}(?:\s+[а-яё]+|[./]\d{1,2}))",
        lambda m: FactDraft("date", "birthday", f"День рождения пользователя: {m[1]}"),
    )
    add(
        r"\b(?:my\s+birthday\s+is|i\s+was\s+born)\s+(?:on\s+)?"
        r"((?:[a-z]+\s+\d{1,2}(?:st|nd|rd|th)?)|(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[a-z]+)"
        r"|\d{1,2}[./]\d{1,2})",
        lambda m: FactDraft("date", "birthday", f"The user's birthday is {m[1]}"),
    )
    return rules


def _companion_rules() -> list[Rule]:
    rules: list[Rule] = []

    def add(pattern: str, make: Callable[[re.Match[str]], FactDraft | None]) -> None:
        rules.append((re.compile(pattern, _I), make))

    add(
        r"\b(?:я\s+)?(?:обещаю|я\s+напомню|обязательно\s+напомню)\s+(?:тебе\s+|вам\s+)?"
        r"([^.!?\n]{4,100})",
        lambda m: FactDraft("promise", _clean(m[1]).lower()[:60], f"Обещано: {_clean(m[1])}"),
    )
    add(
        r"\bi\s+(?:promise|will\s+remind\s+you|'ll\s+remind\s+you)\s*(?:to\s+|that\s+|you\s+)?"
        r"([^.!?\n]{4,100})",
        lambda m: FactDraft("promise", _clean(m[1]).lower()[:60], f"Promised: {_clean(m[1])}"),
    )
    return rules


def _pet_ru(kind: str, name: str) -> FactDraft:
    base = _base(kind, _PET_RU_BASE)
    return FactDraft("pet", base, f"У пользователя {base} по имени {_cap(name)}")


def _kin_ru(kin: str, name: str, place: str | None) -> FactDraft:
    base = _base(kin, _KIN_RU_BASE)
    text = f"{_cap(base)} пользователя — {name}"
    if place:
        text += f", живёт в {place}"
    return FactDraft("person", f"{base}:{name.lower()}", text)


def _kin_en(kin: str, name: str, place: str | None) -> FactDraft:
    text = f"The user's {kin.lower()} is {name}"
    if place:
        text += f", who lives in {place}"
    return FactDraft("person", f"{kin.lower()}:{name.lower()}", text)


# Words after "I love" that are not a taste ("I love you", "I like that idea").
_NOT_A_TASTE = frozenset(
    [
        "you",
        "it",
        "that",
        "this",
        "him",
        "her",
        "them",
        "тебя",
        "вас",
        "его",
        "её",
        "ее",
        "их",
        "это",
        "то",
        "так",
        "talking",
        "when",
    ]
)


def _like(thing: str, kind: str, template: str) -> FactDraft | None:
    thing = _clean(thing)
    first = thing.split()[0].lower() if thing else ""
    if not thing or first in _NOT_A_TASTE or len(thing) < 3:
        return None
    return FactDraft(kind, thing.lower(), template.format(thing))


_USER_RULES = _user_rules()
_COMPANION_RULES = _companion_rules()


def extract_rule_facts(text: str, role: str) -> list[FactDraft]:
    """Facts stated in one message: about the user (`role="user"`) or promises the
    companion made (`role="assistant"`). One fact per subject, first mention wins."""
    rules = _USER_RULES if role == "user" else _COMPANION_RULES if role == "assistant" else []
    seen: set[tuple[str, str]] = set()
    out: list[FactDraft] = []
    for fact in _apply(rules, text[:4000]):
        key = (fact.kind, fact.subject)
        if key not in seen:
            seen.add(key)
            out.append(fact)
    return out


def _apply(rules: list[Rule], text: str) -> Iterator[FactDraft]:
    for pattern, make in rules:
        for match in pattern.finditer(text):
            fact = make(match)
            if fact is not None:
                yield fact
