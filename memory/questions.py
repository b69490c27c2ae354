"""Is a user's message only a question or a request, with nothing new about them in it?

Why: "what is my dog's name?" shares every word with the fact it asks about ("my dog is
called Biscuit"), so once stored it is recalled for the same question again — and it
outranks the fact, pushing it out of the few prompt lines memory gets. A question or a
request ("tell me a joke", «напомни, как зовут сестру») carries nothing to remember.

The test is conservative: a message is dropped only when every clause is interrogative, a
request, or a filler/vocative, it is short, and it makes no first-person statement ("I
moved to Berlin", «у меня кот», "my sister lives in ...") that is not itself asked ("where
do I live?"). So "My sister Masha lives in Kazan, did I tell you?", «Я живу в Самаре, где
тут хороший врач?» and "Did I tell you I got a new job?" are kept. What a dropped question
mentions in passing ("a vet for my dog Rex?") still reaches the profile: the profile reads
every message (memory/profile.py), whether or not it becomes a memory.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
# Clauses: split at sentence and clause punctuation and at a dash between spaces.
_CLAUSE = re.compile(r"[,;:.!?…\n()\"«»]+|\s[—–-]\s")
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…\n]*")

_WH = frozenset(
    """
    what what's whats who who's whom whose where where's when when's why how how's which
    что чего чем чём кто кого кому кем где когда почему зачем отчего как какой какая какое
    какие какого какую каким каком какому каких какими каков сколько куда откуда чей чья
    чьё чье чьи разве неужели ли
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_AUX = frozenset(
    """
    do does did is are am was were can could would will should shall may might must have has
    had don't doesn't didn't isn't aren't wasn't weren't can't couldn't won't wouldn't
    shouldn't haven't hasn't
    """.split()  # noqa: SIM905
)
_REQUEST = frozenset(
    """
    tell remind explain show give write recommend suggest help describe list let's lets
    please name say guess imagine find teach sing draw compose translate summarize check
    расскажи расскажите напомни напомните объясни объясните покажи покажите дай дайте
    напиши напишите посоветуй посоветуйте подскажи подскажите помоги помогите опиши
    перечисли давай давайте скажи скажите назови угадай представь придумай спой нарисуй
    переведи найди научи пожалуйста можешь можете сможешь
    """.split()  # noqa: SIM905
)
# Words that open a clause without changing what it is ("so", "hey", «слушай, а ...»).
_FILLER = frozenset(
    """
    and so but well hey hi hello oh also btw now then ok okay anyway and you
    а и но ну так кстати слушай привет эй ой ладно окей хорошо тогда вот ещё еще ты вы хм
    """.split()  # noqa: SIM905
)
_KNOW = frozenset(
    """
    know remember think recall знаешь знаете помнишь помните думаешь думаете считаешь
    """.split()  # noqa: SIM905
)
# Verbs that embed a statement in a question: "did I tell you (that) I ...".
_TELL = frozenset(
    """
    tell told know knew remember mention mentioned said say hear heard guess
    знаешь знаете помнишь помните говорил говорила сказал сказала рассказывал рассказывала
    слышал слышала представляешь
    """.split()  # noqa: SIM905
)

# First-person statements: something new about the user, even inside a question.
_STATES = re.compile(
    r"\b(?:"
    r"i'?m|i\s+am|i'?ve|i\s+have|i\s+had|i\s+live[ds]?|i\s+work(?:ed)?|i\s+moved|i\s+got|"
    r"i\s+love[ds]?|i\s+like[ds]?|i\s+hate[ds]?|i\s+bought|i\s+adopted|i\s+went|i\s+was|"
    r"i\s+will|i'?ll|i\s+study|i\s+studied|i\s+just|i\s+started|i\s+finished|i\s+met|"
    r"my\s+\w+(?:'s)?\s+(?:is|are|was|were|lives|lived|works|worked|just|got|has|had|named|"
    r"called|moved|loves|likes)|"
    r"у\s+меня|меня\s+зовут|я\s+жив[уё]|я\s+работа\w*|я\s+уч[уи]\w*|я\s+переех\w+|"
    r"я\s+люблю|я\s+обожаю|я\s+не\s+(?:люблю|ем|пью|переношу)|я\s+ненавижу|мне\s+\d+|"
    r"я\s+родил\w*|я\s+купил\w*|я\s+зав[её]л\w*|я\s+был\w*|я\s+буду|я\s+начал\w*|"
    r"я\s+закончил\w*|я\s+познакомил\w*|я\s+только\s+что|"
    r"(?:мой|моя|мои|моё|мое)\s+\w+\s+(?:\w+\s+)?(?:жив[её]т|живут|работа\w+|зовут|был\w*|"
    r"переех\w+|люб\w+)"
    r")\b",
    re.IGNORECASE,
)
MAX_QUESTION_WORDS = 30


def is_bare_question(text: str) -> bool:
    """True when `text` (a user's message) only asks or requests, and tells nothing."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > MAX_QUESTION_WORDS:
        return False
    if _states_something(text):
        return False
    asks = False
    for sentence in _SENTENCE.findall(text):
        end = sentence.rstrip()[-1:]
        clauses = [c for c in _CLAUSE.split(sentence) if _WORD.search(c)]
        opened = False  # a request before: "tell me, what ..."
        for i, clause in enumerate(clauses):
            kind = _clause_kind(clause, end, len(clauses), i, opened)
            if kind == "statement":
                return False
            if kind == "ask":
                asks = opened = True
    return asks


def _clause_kind(clause: str, end: str, n_clauses: int, i: int, opened: bool) -> str:
    """What a clause does: "ask" (a question, a request), "filler" (a vocative, "hey",
    «слушай») or "statement".

    A question word asks in a "?" sentence, at the sentence's start, or after a request
    ("напомни, как ..."); elsewhere it joins a statement («хорошо, что рассказал»), and
    before "!" it exclaims ("What a present!")."""
    raw = _WORD.findall(clause)
    words = [w.lower().replace("’", "'") for w in raw]
    skip = 0
    while skip < len(words) and words[skip] in _FILLER:
        skip += 1
    rest = words[skip:]
    if not rest:
        return "filler"
    first = rest[0]
    if first in _REQUEST or (first in _KNOW and len(rest) <= 3):
        return "ask"  # "tell me ...", "(you) remember?", «(ты) помнишь?»
    if end == "?" and (first in _WH or first in _AUX or "ли" in rest or i == n_clauses - 1):
        return "ask"  # «ты помнишь мою собаку?»: only the "?" marks the last clause
    if end != "!" and (first in _WH or first in _AUX) and (i == 0 or opened):
        return "ask"
    if n_clauses > 1 and len(rest) == 1 and raw[skip][:1].isupper():
        return "filler"  # a vocative: "Chatumba, what's my name?" (not "Noted!")
    return "statement"


def _states_something(text: str) -> bool:
    """A first-person statement that is not itself asked: "which city do I live in?" and
    «в каком городе я живу?» ask; "did I tell you I moved?" tells."""
    low = text.lower().replace("’", "'")
    for match in _STATES.finditer(low):
        clause = _CLAUSE.split(low[: match.start()])[-1]
        before = _WORD.findall(clause)
        asked = False
        for word in before:  # the nearest question word before it, unless a "tell" follows
            if word in _WH or word in _AUX:
                asked = True
            elif word in _TELL:
                asked = False
        if not asked:
            return True
    return False
