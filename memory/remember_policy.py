"""What is not worth remembering: acknowledgements, refusals, "I don't know"s, errors and
the user's bare questions and requests.

Why: every stored turn competes for the few prompt lines memory gets. A stored "Я не знаю,
как зовут вашего кота" is retrieved for the very question it failed ("как зовут кота?") and
pushes the real fact out; "ok", "thanks", "👍" match nothing useful and still fill the index.
The rules are conservative on purpose: a one-word *answer* ("Barsik") is kept, only
acknowledgements from a short list are dropped; assistant refusals are dropped only when the
reply is short and starts like one, so a long, helpful reply that begins "I'm sorry to hear
that" stays.
"""

from __future__ import annotations

import re

from memory.questions import is_bare_question

# Whole-message acknowledgements (compared after lower-casing and stripping punctuation).
_ACKS = frozenset(
    """
    ok okay k kk okey okie yes yep yeah yup no nope nah sure fine cool nice great thanks
    thank thx ty cheers lol lmao haha hahaha hehe hmm hm mhm uh uhm um oh ah wow right
    alright good gotcha understood noted done agreed indeed yay bye hi hello hey
    да нет ага угу ок окей хорошо ладно понятно ясно спасибо спс пасиб мерси отлично
    супер класс круто норм нормально хм ммм ого ах ох ну пока привет здравствуй
    согласен согласна конечно точно верно ахаха хаха хех
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_ACK_PHRASES = frozenset(
    {
        "thank you",
        "thanks a lot",
        "got it",
        "ok thanks",
        "okay thanks",
        "sounds good",
        "all right",
        "no problem",
        "of course",
        "good night",
        "спасибо большое",
        "большое спасибо",
        "всё понятно",
        "все понятно",
        "ну ладно",
        "ну да",
        "ну ок",
        "да да",
        "спокойной ночи",
        "доброй ночи",
        "без проблем",
    }
)

_WORDS = re.compile(r"[^\W_]+", re.UNICODE)

# Assistant replies that carry no fact: refusals and "I don't know / remember".
_REFUSAL = re.compile(
    r"^\W*(?:"
    r"(?:i'?m|i am)\s+(?:sorry|afraid)[,.!]?\s+(?:but\s+)?i\s+(?:can(?:no|')t|cannot|am\s+unable|"
    r"don'?t\s+(?:know|remember|have))"
    r"|i\s+(?:can(?:no|')t|cannot|won'?t)\s+(?:help\s+(?:with|you)|assist|answer|provide|do\s+that"
    r"|comply)"
    r"|i'?m\s+(?:not\s+able|unable)\s+to"
    r"|i\s+am\s+(?:not\s+able|unable)\s+to"
    r"|as\s+an?\s+(?:ai|language\s+model|assistant)"
    r"|i\s+(?:don'?t|do\s+not)\s+(?:know|remember|recall|have\s+(?:any\s+)?(?:information|access))"
    r"|i\s+have\s+no\s+(?:idea|information|way)"
    r"|(?:извините|простите|к\s+сожалению)[,.!]?\s+(?:но\s+)?я\s+не\s+(?:могу|знаю|помню)"
    r"|я\s+не\s+(?:могу|в\s+состоянии)\s+(?:помочь|ответить|выполнить|сделать|рассказать)"
    r"|я\s+не\s+(?:знаю|помню)"
    r"|(?:как|будучи)\s+(?:ии|искусственный\s+интеллект|языковая\s+модель)"
    r"|у\s+меня\s+нет\s+(?:информации|доступа|данных)"
    r")",
    re.IGNORECASE,
)
_REFUSAL_MAX_CHARS = 240

_ERROR = re.compile(
    r"^\W*(?:error|ошибка|exception|traceback)\b|Traceback \(most recent call last\)",
    re.IGNORECASE,
)


def skip_reason(text: str, role: str | None, generated: bool = True) -> str | None:
    """Why `text` should not become a memory ("empty", "acknowledgement", "refusal",
    "error", "question"), or None when it is worth keeping.

    `generated=False` (imported history, where the "assistant" may be a person) applies
    only the empty/acknowledgement rules: a person's "I don't know what I'd do without you"
    is a memory, a model's "I don't know your cat's name" is not; and in a dialog between
    two people a question is part of what happened ("did you finish the painting?"), while
    a live user's "what is my dog's name?" only competes with the fact it asks for."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    words = [w.lower() for w in _WORDS.findall(stripped)]
    if not words:
        return "acknowledgement"  # only emoji or punctuation
    if len(words) <= 3 and (" ".join(words) in _ACK_PHRASES or all(w in _ACKS for w in words)):
        return "acknowledgement"
    if not generated:
        return None
    if role != "user" and _ERROR.search(stripped[:200]):
        return "error"  # a user may well paste an error message worth keeping
    if role == "assistant" and len(stripped) <= _REFUSAL_MAX_CHARS and _REFUSAL.match(stripped):
        return "refusal"
    if role == "user" and is_bare_question(stripped):
        return "question"
    return None
