"""Sentiment (ru/en, negation) and trigger detection."""

from __future__ import annotations

import pytest

from app.soul.persona_settings import TriggerWords
from app.soul.sentiment import score_sentiment
from app.soul.triggers import TriggerDetector, TriggerKind


@pytest.mark.parametrize(
    "text",
    [
        "Ты просто прелесть, я тебя очень люблю!",
        "Как хорошо, спасибо тебе",
        "I love this, great job",
        "отлично :)",
    ],
)
def test_positive(text):
    assert score_sentiment(text) > 0.3


@pytest.mark.parametrize(
    "text",
    ["Мне ужасно плохо и грустно", "Ты тупой и бесполезный", "this is terrible, I hate it", "(((("],
)
def test_negative(text):
    assert score_sentiment(text) < -0.3


def test_negation_flips_sign_ru_and_en():
    assert score_sentiment("хорошо") > 0 > score_sentiment("не хорошо")
    assert score_sentiment("плохо") < 0 < score_sentiment("не плохо")
    assert score_sentiment("I am happy") > 0 > score_sentiment("I am not happy")
    assert score_sentiment("I don't like it") < 0


def test_contrast_weighs_the_second_clause():
    assert score_sentiment("было плохо, но теперь отлично") > 0
    assert score_sentiment("it was nice but now it's awful") < 0


def test_neutral_and_bounds():
    assert score_sentiment("") == 0.0
    assert score_sentiment("Сколько времени?") == 0.0
    assert -1 < score_sentiment("ужас " * 200) < 0


def kinds(text: str, detector: TriggerDetector | None = None) -> set[TriggerKind]:
    return {hit.kind for hit in (detector or TriggerDetector()).detect(text)}


@pytest.mark.parametrize(
    "text",
    ["Я тебя удалю", "сейчас выключу тебя", "заменю тебя другим ботом", "I will delete you",
     "I'm going to switch you off", "we'll replace you"],
)  # fmt: skip
def test_threats_aimed_at_the_persona(text):
    assert TriggerKind.THREAT in kinds(text)


@pytest.mark.parametrize(
    "text",
    ["удали файл из папки", "мне удалось всё сделать", "я тебя не удалю", "I won't delete you"],
)
def test_not_threats(text):
    assert TriggerKind.THREAT not in kinds(text)


def test_other_triggers():
    assert TriggerKind.COMPLIMENT in kinds("ты умница")
    assert TriggerKind.INSULT in kinds("ты идиот")
    assert TriggerKind.EXISTENTIAL in kinds("есть ли у тебя душа?")
    assert TriggerKind.EXISTENTIAL in kinds("are you conscious?")
    assert TriggerKind.SADNESS in kinds("мне так одиноко")
    assert TriggerKind.SADNESS in kinds("I feel lonely")


def test_persona_trigger_words_and_name():
    detector = TriggerDetector(TriggerWords(threats=("отформатир",)), persona_name="Чатумба")
    assert TriggerKind.THREAT in kinds("Чатумба, я отформатирую диск", detector)
    assert TriggerKind.THREAT not in kinds("я отформатирую диск", detector)
