"""Generate bench/data/memory_recall.json: a multi-session recall set (English and Russian).

Two users (one English, one Russian) chat with a persona over 14 sessions spread across ~6
months. Planted facts sit in specific user messages among filler small-talk and distractors
(similar facts about other people); questions come in a final session weeks later, phrased
differently from the facts, and each names the message id(s) holding its answer.
Deterministic (seeded); run `python bench/bench_memory_recallset.py` to regenerate.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

START = 1_735_725_600.0  # 2025-01-01 10:00 UTC
DAY = 86400.0

# (fact said in chat, question asked much later, distractor said elsewhere)
FACTS = {
    "en": [
        (
            "My dog is a three-year-old corgi called Pickle.",
            "What breed is my dog and what's its name?",
            "My neighbour's dog is a husky called Storm.",
        ),
        (
            "I'm allergic to penicillin, found out the hard way as a kid.",
            "Which medicine am I allergic to?",
            "My brother is allergic to cats.",
        ),
        (
            "My sister Clara just moved to Vancouver for her new job.",
            "Where does my sister live now?",
            "My cousin moved to Denver last spring.",
        ),
        (
            "I started learning the cello in March, lessons are on Tuesdays.",
            "What instrument am I learning?",
            "My son plays the drums in a school band.",
        ),
        (
            "My wedding anniversary is on the 9th of September.",
            "When is my anniversary?",
            "My parents got married in June 1985.",
        ),
        (
            "I work as a structural engineer at a bridge design firm.",
            "What do I do for a living?",
            "My friend Tom is a dentist.",
        ),
        (
            "My favourite book is 'The Left Hand of Darkness' by Le Guin.",
            "Which novel do I like most?",
            "I found 'Dune' a bit slow honestly.",
        ),
        (
            "I'm training for the Berlin marathon in late September.",
            "Which race am I preparing for?",
            "My colleague ran a half marathon in Prague.",
        ),
        (
            "My daughter Mia turns seven on November 2nd.",
            "How old will my daughter be and when is her birthday?",
            "My nephew just turned twelve.",
        ),
        (
            "I drive an old green Volvo 240 that I restored myself.",
            "What car do I own?",
            "My wife wants to buy a Tesla.",
        ),
        (
            "The locker code at my gym is 5829.",
            "What's my gym locker code?",
            "My office door code changes every month.",
        ),
        (
            "I'm lactose intolerant so I take my coffee with oat milk.",
            "How do I take my coffee?",
            "My boss drinks his espresso with sugar.",
        ),
        (
            "We're planning a trip to Kyoto in April to see the cherry blossoms.",
            "Where am I travelling in spring?",
            "Last year we went to Lisbon in October.",
        ),
        (
            "My grandmother taught me to bake rye bread every Sunday.",
            "Who taught me baking?",
            "My uncle taught me how to fish.",
        ),
        (
            "I'm scared of heights, even ladders make me nervous.",
            "What phobia do I have?",
            "My friend is afraid of spiders.",
        ),
        (
            "My cat Juniper only eats salmon-flavoured food.",
            "What does my cat eat?",
            "The neighbour's parrot loves sunflower seeds.",
        ),
        (
            "I play five-a-side football every Thursday evening.",
            "What sport do I play weekly?",
            "I watched tennis on TV yesterday.",
        ),
        (
            "My doctor told me my vitamin D is low, so I take supplements.",
            "What deficiency did the doctor find?",
            "My mother has high blood pressure.",
        ),
        (
            "I grew up in a small town called Tobermory in Scotland.",
            "Where did I grow up?",
            "My wife is from Manchester.",
        ),
        (
            "My password manager is Bitwarden, I switched from LastPass.",
            "Which password manager do I use?",
            "Work makes us use Okta for logins.",
        ),
    ],
    "ru": [
        (
            "У меня есть кот Барсик, ему пять лет, он британец.",
            "Какой породы мой кот и как его зовут?",
            "У соседки живёт кошка Мурка.",
        ),
        (
            "У меня аллергия на арахис, даже следы опасны.",
            "На что у меня аллергия?",
            "У мужа аллергия на пыльцу берёзы.",
        ),
        (
            "Мой брат Олег переехал в Екатеринбург в прошлом месяце.",
            "Куда переехал мой брат?",
            "Подруга Лена недавно переехала в Сочи.",
        ),
        (
            "Я работаю учительницей химии в гимназии.",
            "Кем я работаю?",
            "Моя сестра работает медсестрой.",
        ),
        (
            "Я учусь играть на саксофоне, занятия по средам.",
            "На каком инструменте я учусь играть?",
            "Сын ходит на гитару.",
        ),
        (
            "Моя дочь Вера пойдёт в первый класс в сентябре.",
            "Когда дочь идёт в школу?",
            "Племянник уже в пятом классе.",
        ),
        (
            "Я езжу на синей Ладе Ниве, купил её в 2019 году.",
            "Какая у меня машина?",
            "Отец всю жизнь ездил на Волге.",
        ),
        (
            "Код от домофона у меня 4417.",
            "Какой код от моего домофона?",
            "Код от гаража знает только отец.",
        ),
        (
            "Я не пью коровье молоко, беру кофе с миндальным.",
            "С каким молоком я пью кофе?",
            "Начальник пьёт чай с лимоном.",
        ),
        (
            "Летом мы собираемся на Байкал с палатками.",
            "Куда мы поедем летом?",
            "Прошлым летом были в Карелии.",
        ),
        (
            "Мой любимый писатель — Булгаков, перечитываю «Мастера и Маргариту».",
            "Кто мой любимый писатель?",
            "Коллега обожает Пелевина.",
        ),
        (
            "Я боюсь летать на самолётах, всегда беру поезд.",
            "Чего я боюсь?",
            "Подруга боится собак.",
        ),
        (
            "Бабушка научила меня варить вишнёвое варенье.",
            "Кто научил меня варить варенье?",
            "Дедушка научил меня рыбачить.",
        ),
        (
            "По субботам я играю в волейбол в спортзале у дома.",
            "Каким спортом я занимаюсь?",
            "Муж смотрит хоккей по телевизору.",
        ),
        (
            "Врач сказал, что у меня низкий гемоглобин, пью железо.",
            "Что обнаружил врач?",
            "У мамы повышенный сахар.",
        ),
        (
            "Я родилась в Вологде и прожила там до двадцати лет.",
            "Где я родилась?",
            "Муж родом из Твери.",
        ),
        (
            "Наша годовщина свадьбы — 14 февраля.",
            "Когда у нас годовщина свадьбы?",
            "Родители поженились в мае.",
        ),
        (
            "Я готовлюсь к экзамену по немецкому языку на уровень B2.",
            "К какому экзамену я готовлюсь?",
            "Сын учит английский.",
        ),
        (
            "У меня черепаха Тортилла, ей уже двадцать лет.",
            "Сколько лет моей черепахе?",
            "У друга живёт хомяк.",
        ),
        (
            "Моя любимая еда — пельмени со сметаной.",
            "Какое моё любимое блюдо?",
            "Дочь обожает пиццу.",
        ),
    ],
}

FILLER = {
    "en": (
        [
            "How was your day?",
            "Tell me something interesting.",
            "I'm a bit tired today.",
            "The weather is grey again.",
            "I watched a film last night, it was okay.",
            "Work was busy, lots of meetings.",
            "I had pasta for dinner.",
            "Do you have any advice for sleeping better?",
            "I went for a walk in the park.",
            "The traffic was terrible this morning.",
            "I'm thinking about reorganising my desk.",
            "Have you heard any good jokes?",
            "I need to call the plumber tomorrow.",
            "The train was late again.",
            "I read an article about octopuses.",
            "My phone battery keeps dying.",
            "I should drink more water.",
            "It's been a long week.",
            "I tried a new podcast today.",
            "I cleaned the kitchen.",
        ],
        [
            "That sounds nice, tell me more.",
            "I hope tomorrow is calmer for you.",
            "Interesting! How did that feel?",
            "Rest is important, be kind to yourself.",
            "I'm here if you want to talk.",
            "That's a good idea.",
            "What would make today better?",
            "I'd love to hear how it goes.",
            "That must have been frustrating.",
            "Sounds like a plan.",
        ],
    ),
    "ru": (
        [
            "Как прошёл твой день?",
            "Расскажи что-нибудь интересное.",
            "Я сегодня немного устала.",
            "Опять пасмурно.",
            "Вчера смотрела фильм, так себе.",
            "На работе завал, сплошные совещания.",
            "На ужин были макароны.",
            "Посоветуй, как лучше спать?",
            "Гуляла в парке.",
            "Утром были ужасные пробки.",
            "Хочу переставить мебель.",
            "Знаешь хорошие анекдоты?",
            "Завтра надо вызвать сантехника.",
            "Электричка опять опоздала.",
            "Читала статью про осьминогов.",
            "Телефон быстро разряжается.",
            "Надо пить больше воды.",
            "Длинная была неделя.",
            "Послушала новый подкаст.",
            "Убралась на кухне.",
        ],
        [
            "Звучит здорово, расскажи подробнее.",
            "Надеюсь, завтра будет спокойнее.",
            "Интересно! Как ощущения?",
            "Отдых важен, береги себя.",
            "Я рядом, если хочешь поговорить.",
            "Хорошая идея.",
            "Что сделало бы день лучше?",
            "Расскажешь потом, как прошло?",
            "Понимаю, это неприятно.",
            "Отличный план.",
        ],
    ),
}

SESSIONS = 14
TURNS_PER_SESSION = 24


def build(seed: int = 7) -> dict:
    rng = random.Random(seed)
    conversations, questions = [], []
    for lang, facts in FACTS.items():
        user = f"user-{lang}"
        user_lines, bot_lines = FILLER[lang]
        # each fact and each distractor is placed in a random (session, slot), distinct slots
        slots = rng.sample(
            [(s, t) for s in range(SESSIONS) for t in range(0, TURNS_PER_SESSION, 2)],
            2 * len(facts),
        )
        planted: dict[tuple[int, int], tuple[str, int | None]] = {}
        for i, (fact, _, distractor) in enumerate(facts):
            planted[slots[2 * i]] = (fact, i)
            planted[slots[2 * i + 1]] = (distractor, None)
        answer_ids: dict[int, str] = {}
        for s in range(SESSIONS):
            conv_id = f"{lang}-s{s:02d}"
            t0 = START + s * 12 * DAY + rng.uniform(0, 6) * 3600
            messages = []
            for t in range(TURNS_PER_SESSION):
                mid = f"{conv_id}-m{t:02d}"
                if t % 2 == 0:
                    text, fact_index = planted.get((s, t), (rng.choice(user_lines), None))
                    if fact_index is not None:
                        answer_ids[fact_index] = mid
                    role = "user"
                else:
                    text, role = rng.choice(bot_lines), "assistant"
                messages.append({"id": mid, "role": role, "text": text, "created_at": t0 + t * 45})
            conversations.append(
                {"id": conv_id, "user_id": user, "lang": lang, "messages": messages}
            )
        asked_at = START + (SESSIONS * 12 + 40) * DAY
        for i, (_, question, _) in enumerate(facts):
            questions.append(
                {
                    "id": f"{lang}-q{i:02d}",
                    "user_id": user,
                    "lang": lang,
                    "question": question,
                    "asked_at": asked_at,
                    "answer_message_ids": [answer_ids[i]],
                }
            )
    return {
        "format": "ikar.memory-recall",
        "version": 1,
        "seed": seed,
        "conversations": conversations,
        "questions": questions,
    }


if __name__ == "__main__":
    out = Path(__file__).parent / "data" / "memory_recall.json"
    out.write_text(json.dumps(build(), ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {out}")
