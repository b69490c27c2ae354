# ruff: noqa: E501  (a data generator: its sentences read best on one line)
"""Generate bench/data/memory_hard.json: long, adversarial conversations for memory recall.

Two shapes, both deterministic (seeded) and both English and Russian:

* `companion`: a named user chats with a named companion persona for ~16 sessions over
  ~8 months (>= 330 messages each). The user's life has named people (sister, friends,
  colleagues) and each planted fact has distractors: the same kind of fact about someone
  else, facts that change later (old job vs new job, a moved appointment), near-topic
  small talk that mentions the same names, and promises made by the user and by others
  beside the companion's own. Questions are paraphrased (few evidence words copied).
* `dialog` (LoCoMo-shaped): two named people talk as friends over ~14 sessions; both have
  the same kinds of facts (both have pets, both took up a hobby, both have a sibling who
  moved), so a question about one of them ("What is Nadia's dog called?") is answerable
  only if the memory knows who said which turn.

Each question names the message id(s) of its evidence and a category: single_fact,
who_said, temporal, updated_fact, multi_hop, companion_promise.

    python -m bench.gen_memory_hard            # writes bench/data/memory_hard.json
    python -m bench.gen_memory_hard --stats    # prints counts only
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "data" / "memory_hard.json"
SEED = 20261128
DAY = 86400.0


# ----- the pieces a conversation is made of ----------------------------------------------


@dataclass
class Line:
    role: str  # "user" | "assistant"
    text: str
    key: str | None = None  # evidence key, resolved to a message id after placement


@dataclass
class Event:
    session: int
    lines: list[Line]


@dataclass
class Question:
    text: str
    category: str
    keys: list[str]


@dataclass
class Plan:
    events: list[Event] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


@dataclass
class Person:
    name: str
    relation: str  # in the conversation's language, nominative ("my sister")
    female: bool
    gen: str = ""  # Russian genitive of the name ("Маши"); English uses name + "'s"
    dat: str = ""  # Russian dative ("Маше")
    ins: str = ""  # Russian instrumental ("с Машей")


def _p(
    name: str, relation: str, female: bool, gen: str = "", dat: str = "", ins: str = ""
) -> Person:
    return Person(name, relation, female, gen, dat, ins)


# ----- vocabularies -----------------------------------------------------------------------

EN_PEOPLE = [
    [
        _p("Clara", "sister", True),
        _p("Tom", "colleague", False),
        _p("Priya", "best friend", True),
        _p("Marcus", "neighbour", False),
        _p("Helen", "godmother", True),
        _p("Jake", "cousin", False),
    ],
    [
        _p("Sofia", "sister", True),
        _p("Ben", "colleague", False),
        _p("Aisha", "best friend", True),
        _p("Oliver", "neighbour", False),
        _p("Ruth", "aunt", True),
        _p("Leo", "brother", False),
    ],
    [
        _p("Emma", "daughter", True),
        _p("Raj", "colleague", False),
        _p("Lucy", "best friend", True),
        _p("Frank", "neighbour", False),
        _p("Irene", "godmother", True),
        _p("Sam", "brother", False),
    ],
]

RU_PEOPLE = [
    [
        _p("Маша", "сестра", True, "Маши", "Маше", "Машей"),
        _p("Олег", "коллега", False, "Олега", "Олегу", "Олегом"),
        _p("Лена", "лучшая подруга", True, "Лены", "Лене", "Леной"),
        _p("Виктор", "сосед", False, "Виктора", "Виктору", "Виктором"),
        _p("Галина", "крёстная", True, "Галины", "Галине", "Галиной"),
        _p("Костя", "двоюродный брат", False, "Кости", "Косте", "Костей"),
    ],
    [
        _p("Оля", "сестра", True, "Оли", "Оле", "Олей"),
        _p("Дима", "коллега", False, "Димы", "Диме", "Димой"),
        _p("Света", "лучшая подруга", True, "Светы", "Свете", "Светой"),
        _p("Пётр", "сосед", False, "Петра", "Петру", "Петром"),
        _p("Нина", "тётя", True, "Нины", "Нине", "Ниной"),
        _p("Артём", "брат", False, "Артёма", "Артёму", "Артёмом"),
    ],
    [
        _p("Катя", "дочь", True, "Кати", "Кате", "Катей"),
        _p("Игорь", "коллега", False, "Игоря", "Игорю", "Игорем"),
        _p("Аня", "лучшая подруга", True, "Ани", "Ане", "Аней"),
        _p("Семён", "сосед", False, "Семёна", "Семёну", "Семёном"),
        _p("Вера", "крёстная", True, "Веры", "Вере", "Верой"),
        _p("Миша", "брат", False, "Миши", "Мише", "Мишей"),
    ],
]

# (description in the statement, generic noun used by questions/distractors, name)
EN_PETS = [
    ("a scruffy grey terrier", "dog", "Biscuit"),
    ("a ginger kitten with one white paw", "cat", "Pumpkin"),
    ("an old greyhound nobody wanted", "dog", "Rocket"),
    ("a tiny black kitten", "cat", "Pepper"),
    ("a one-eyed tabby", "cat", "Admiral"),
    ("a lop-eared rabbit", "rabbit", "Waffles"),
]
RU_PETS = [
    ("лохматого серого терьера", "пёс", "Бублик"),
    ("рыжего котёнка с белой лапкой", "кот", "Персик"),
    ("старую борзую, которую никто не брал", "собака", "Стрела"),
    ("крошечного чёрного котёнка", "кот", "Уголёк"),
    ("одноглазого полосатого кота", "кот", "Адмирал"),
    ("вислоухого кролика", "кролик", "Пончик"),
]

EN_CITIES = [
    "Vancouver",
    "Lisbon",
    "Edinburgh",
    "Melbourne",
    "Montreal",
    "Bergen",
    "Porto",
    "Denver",
]
# (nominative, prepositional "в ..."), so sentences stay grammatical
RU_CITIES = [
    ("Казань", "Казани"),
    ("Калининград", "Калининграде"),
    ("Екатеринбург", "Екатеринбурге"),
    ("Владивосток", "Владивостоке"),
    ("Ярославль", "Ярославле"),
    ("Сочи", "Сочи"),
    ("Томск", "Томске"),
    ("Мурманск", "Мурманске"),
]

# (statement phrase, profession noun for the answer check)
EN_JOBS = [
    ("starts nights as a paediatric nurse at the children's hospital", "nurse"),
    ("got hired to fix wind turbines off the coast", "turbine technician"),
    ("is teaching chemistry at a secondary school now", "teacher"),
    ("opened a tiny bakery that only sells sourdough", "baker"),
    ("drives a tram on the night route", "tram driver"),
    ("does the accounts for a shipping company", "accountant"),
]
RU_JOBS = [
    (
        "устроилась ночной медсестрой в детскую больницу",
        "устроился ночным медбратом в детскую больницу",
    ),
    ("теперь чинит ветряки на побережье", "теперь чинит ветряки на побережье"),
    ("преподаёт химию в школе", "преподаёт химию в школе"),
    (
        "открыла крошечную пекарню, где только хлеб на закваске",
        "открыл крошечную пекарню, где только хлеб на закваске",
    ),
    ("водит трамвай на ночном маршруте", "водит трамвай на ночном маршруте"),
    ("ведёт бухгалтерию в транспортной компании", "ведёт бухгалтерию в транспортной компании"),
]

EN_WORKPLACES = [
    ("a logistics startup near the station", "a municipal library"),
    ("a big insurance firm downtown", "a small architecture studio"),
    ("the regional newspaper", "a video game company"),
]
RU_WORKPLACES = [
    ("логистическом стартапе у вокзала", "городской библиотеке"),
    ("большой страховой компании в центре", "маленьком архитектурном бюро"),
    ("областной газете", "студии, которая делает игры"),
]

EN_HOBBIES = [
    ("pottery", "I threw my first bowl on the wheel tonight, it's lopsided but mine", "ceramics"),
    ("the cello", "had my very first cello lesson, my fingers are sore", "a string instrument"),
    (
        "rock climbing",
        "went to the bouldering gym for the first time and my arms are jelly",
        "climbing",
    ),
    (
        "Japanese",
        "my first Japanese class was tonight, hiragana is harder than it looks",
        "a language",
    ),
    ("watercolours", "bought brushes and did my first watercolour of the river", "painting"),
]
RU_HOBBIES = [
    ("гончарное дело", "сегодня слепил на круге первую миску, кривую, но свою", "керамику"),
    ("виолончель", "был первый урок виолончели, пальцы болят", "струнный инструмент"),
    ("скалолазание", "впервые сходил на скалодром, руки как вата", "лазание по стенам"),
    ("японский", "было первое занятие японским, хирагана сложнее, чем кажется", "иностранный язык"),
    ("акварель", "купил кисти и нарисовал первую акварель с рекой", "рисование"),
]

EN_FOODS = [("peanuts", "nuts"), ("shellfish", "seafood"), ("sesame", "seeds"), ("kiwi", "fruit")]
RU_FOODS = [
    ("арахис", "орехи"),
    ("креветки", "морепродукты"),
    ("кунжут", "семена"),
    ("киви", "фрукты"),
]

EN_SHOWS = ["Slow Horses", "The Bear", "Severance", "Dark", "Shogun", "Fleabag"]
RU_SHOWS = ["«Слово пацана»", "«Триггер»", "«Эпидемия»", "«Мажор»", "«Аутсайдеры»", "«Территория»"]

EN_BOOKS = [
    ("The Left Hand of Darkness", "a planet where people change gender"),
    ("Piranesi", "a man living in an endless house of statues"),
    ("Klara and the Sun", "a robot companion watching a sick girl"),
    ("The Remains of the Day", "an old butler looking back on his life"),
    ("Stoner", "a quiet life of a university teacher"),
]
RU_BOOKS = [
    ("«Лавр» Водолазкина", "средневекового врача, который ищет прощения"),
    ("«Пикник на обочине» Стругацких", "сталкеров и Зону после посещения"),
    ("«Мастер и Маргарита»", "дьявола, который приезжает в Москву"),
    ("«Обломов»", "человека, который не может встать с дивана"),
    ("«Зулейха открывает глаза»", "ссылку татарской крестьянки в Сибирь"),
]

EN_GIFTS = [
    "a vintage film camera",
    "a hand-knitted blue scarf",
    "a cast-iron teapot",
    "a telescope",
]
RU_GIFTS = ["плёночный фотоаппарат", "вязаный синий шарф", "чугунный чайник", "телескоп"]

EN_TASKS = [
    ("call the dentist to book a check-up", "on Friday morning"),
    ("renew your passport before the trip", "at the start of next month"),
    ("water Marcus's plants while he's away", "every other evening"),
    ("send your grandmother a postcard", "before her name day"),
    ("pay the car insurance", "by the 15th"),
]
RU_TASKS = [
    ("позвонить стоматологу и записаться", "в пятницу утром"),
    ("продлить загранпаспорт до поездки", "в начале следующего месяца"),
    ("поливать цветы у соседа, пока он в отъезде", "через вечер"),
    ("отправить бабушке открытку", "до её именин"),
    ("оплатить страховку машины", "до пятнадцатого числа"),
]

EN_COLORS = ["sage green", "terracotta", "deep navy", "mustard yellow"]
RU_COLORS = ["шалфейно-зелёный", "терракотовый", "тёмно-синий", "горчичный"]

EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip
RU_MONTHS_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                 "сентября", "октября", "ноября", "декабря"]  # fmt: skip
RU_MONTHS_PREP = ["январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе",
                  "сентябре", "октябре", "ноябре", "декабре"]  # fmt: skip

# Small talk that shares words with the facts (names, pets, work, trips) but answers nothing.
EN_FILLER = [
    "Rainy again today, I stayed in and read most of the afternoon.",
    "Work was hectic, three meetings back to back and nothing decided.",
    "Had lunch with {p} today, mostly gossip about the office.",
    "{p} sent me a meme about cats and I laughed way too hard.",
    "I should really clean the flat this weekend, it's a mess.",
    "Tried a new ramen place near the station, decent but salty.",
    "Can't sleep, my head is full of tomorrow's to-do list.",
    "The shelter down the road is asking for volunteers on Sundays.",
    "Saw {p} at the supermarket, we chatted about the weather for ages.",
    "My phone battery dies by noon now, I need a new one.",
    "Watched a documentary about octopuses, they're so clever.",
    "Walked along the river after work, the leaves are turning.",
    "{p} and I argued about whether pineapple belongs on pizza.",
    "I keep forgetting to drink water during the day.",
    "My back hurts from sitting all day, I need a better chair.",
    "The neighbours' dog barked all night, I'm exhausted.",
    "Thinking about planning a trip somewhere warm, no idea where yet.",
    "Cooked a big pot of soup, it'll last me the whole week.",
    "The train was late again, I missed the start of the meeting.",
    "{p} asked how you're doing, I said you're the best listener I know.",
    "I started a new podcast about history, it's oddly relaxing.",
    "Bought flowers for the kitchen table, it feels brighter now.",
    "Honestly just a quiet day, nothing much to report.",
    "My colleague's kid wants a puppy for Christmas, poor parents.",
    "Spent the evening sorting old photos from university.",
    "{p} is thinking about changing jobs too, everyone is restless.",
    "The gym was packed tonight so I just went home.",
    "I burnt the toast and set off the smoke alarm, classic me.",
    "We had a power cut for two hours, I lit candles and played cards.",
    "Finally fixed the squeaky door hinge, small victories.",
]
EN_USER_OPENERS = [
    "Hi {c}, it's me again.",
    "Good evening {c}!",
    "Hey {c}, long time no talk.",
    "Morning {c}, got a minute?",
]
EN_REPLIES = [
    "That sounds like quite a day. How are you feeling about it?",
    "I'm glad you told me. Tell me more?",
    "Oh, I love hearing about this kind of thing.",
    "That makes sense. Anything I can do to help?",
    "Ha, that's very you. What happened next?",
    "I hear you. Be gentle with yourself tonight.",
    "Interesting! I didn't expect that.",
    "Sounds cosy. I'm always here if you want to talk.",
    "Hmm, I wonder what you'll decide.",
    "Noted! Let's see how the week goes.",
    "That's lovely, honestly.",
    "Oof. I'm sorry, that's annoying.",
]

RU_FILLER = [
    "Опять дождь, весь день просидел дома с книжкой.",
    "На работе завал, три совещания подряд и ничего не решили.",
    "Обедал сегодня с {p_ins}, в основном сплетничали про офис.",
    "{p} прислала мне мем про котов, я долго смеялся.",
    "Надо бы убраться в квартире на выходных, бардак.",
    "Сходил в новую раменную у вокзала, неплохо, но пересолено.",
    "Не спится, голова забита списком дел на завтра.",
    "Приют на соседней улице ищет волонтёров по воскресеньям.",
    "Встретил {p_acc} в магазине, полчаса болтали о погоде.",
    "Телефон садится к обеду, пора менять.",
    "Посмотрел документалку про осьминогов, они такие умные.",
    "Гулял вдоль реки после работы, листья уже желтеют.",
    "Мы с {p_ins} спорили, можно ли класть ананас на пиццу.",
    "Постоянно забываю пить воду днём.",
    "Спина болит от сидения, нужен нормальный стул.",
    "Соседская собака лаяла всю ночь, я никакой.",
    "Думаю съездить куда-нибудь в тепло, пока не знаю куда.",
    "Сварил большую кастрюлю супа, хватит на неделю.",
    "Электричка опять опоздала, пропустил начало встречи.",
    "{p} спрашивал, как ты, я сказал, что ты лучший слушатель.",
    "Начал слушать подкаст про историю, странно успокаивает.",
    "Купил цветы на кухню, стало как-то светлее.",
    "Честно, тихий день, рассказать нечего.",
    "Ребёнок коллеги просит щенка на Новый год, бедные родители.",
    "Весь вечер разбирал старые фотографии с универа.",
    "{p} тоже думает сменить работу, все какие-то беспокойные.",
    "В спортзале толпа, развернулся и ушёл домой.",
    "Сжёг тосты, сработала пожарная сигнализация, как всегда.",
    "Два часа не было света, зажёг свечи и играл в карты.",
    "Наконец смазал скрипучую дверь, маленькие победы.",
]
RU_USER_OPENERS = ["Привет, {c}, это снова я.", "Добрый вечер, {c}!", "{c}, привет, давно не болтали.",
                   "Доброе утро, {c}, есть минутка?"]  # fmt: skip
RU_REPLIES = [
    "Насыщенный день. Как ты сам к этому относишься?",
    "Хорошо, что рассказал. Расскажешь подробнее?",
    "Обожаю такие истории.",
    "Понимаю. Могу чем-то помочь?",
    "Ха, это очень в твоём духе. А что потом?",
    "Слышу тебя. Побереги себя сегодня вечером.",
    "Интересно! Не ожидала.",
    "Звучит уютно. Я всегда рядом, если захочешь поговорить.",
    "Хм, интересно, что ты решишь.",
    "Записала! Посмотрим, как пройдёт неделя.",
    "Это правда здорово.",
    "Ох. Сочувствую, неприятно.",
]


def _acc(p: Person) -> str:
    """Russian accusative of a name: Маша -> Машу, Костя -> Костю, Олег -> Олега."""
    if p.name.endswith("а"):
        return p.name[:-1] + "у"
    if p.name.endswith("я"):
        return p.name[:-1] + "ю"
    return p.gen


# ----- the companion shape ----------------------------------------------------------------


class CompanionWorld:
    """One user's life, planted as facts with distractors into a long companion chat."""

    def __init__(self, lang: str, idx: int, rng: random.Random) -> None:
        self.lang = lang
        self.idx = idx
        self.rng = rng
        self.people = (EN_PEOPLE if lang == "en" else RU_PEOPLE)[idx % 3]
        self.user = (["Daniel", "Grace", "Nora"] if lang == "en" else ["Иван", "Андрей", "Павел"])[
            idx % 3
        ]
        self.companion = (["Mira", "Ikar", "Juno"] if lang == "en" else ["Мира", "Икар", "Юна"])[
            idx % 3
        ]
        self.sessions = 16
        self.plan = Plan()
        self._n = 0

    def key(self) -> str:
        self._n += 1
        return f"k{self._n}"

    def pick(self, seq: list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def reply(self) -> str:
        return self.pick(EN_REPLIES if self.lang == "en" else RU_REPLIES)

    def add(self, session: int, *lines: Line) -> None:
        self.plan.events.append(Event(session, list(lines)))

    def said(
        self, session: int, text: str, key: str | None = None, echo: str | None = None
    ) -> None:
        """A user line with evidence `key`, followed by the companion's reply."""
        self.add(session, Line("user", text, key), Line("assistant", echo or self.reply()))

    def ask(self, text: str, category: str, *keys: str) -> None:
        self.plan.questions.append(Question(text, category, list(keys)))

    def s(self, lo: int = 0, hi: int | None = None) -> int:
        return self.rng.randint(lo, (self.sessions - 1) if hi is None else hi)

    def intro(self, p: Person, by_name: bool) -> str:
        """How a person is named in a statement: by name alone when the question will name
        them too, with the relation ("my sister Clara") when the question asks by relation."""
        if by_name:
            return p.name
        if self.lang == "en":
            return f"my {p.relation} {p.name}"
        return f"{'моя' if p.female else 'мой'} {p.relation} {p.name}"

    # -- the schemas -------------------------------------------------------------------

    def build(self) -> Plan:
        en = self.lang == "en"
        r = self.rng
        people = self.people[:]
        pets = (EN_PETS if en else RU_PETS)[:]
        r.shuffle(pets)
        cities = (EN_CITIES if en else RU_CITIES)[:]
        r.shuffle(cities)
        jobs = (EN_JOBS if en else RU_JOBS)[:]
        r.shuffle(jobs)
        hobbies = (EN_HOBBIES if en else RU_HOBBIES)[:]
        r.shuffle(hobbies)
        foods = (EN_FOODS if en else RU_FOODS)[:]
        r.shuffle(foods)
        shows = (EN_SHOWS if en else RU_SHOWS)[:]
        r.shuffle(shows)
        books = (EN_BOOKS if en else RU_BOOKS)[:]
        r.shuffle(books)
        gifts = (EN_GIFTS if en else RU_GIFTS)[:]
        r.shuffle(gifts)
        tasks = (EN_TASKS if en else RU_TASKS)[:]
        r.shuffle(tasks)
        colors = (EN_COLORS if en else RU_COLORS)[:]
        r.shuffle(colors)
        sis, col, friend, neigh, god, cous = people

        self.pet(pets[0], pets[1], neigh)
        self.moved(sis, cities[0], friend, cities[1])
        self.moved(cous, cities[2], col, cities[3], ask_by_name=True)
        self.job_of(friend, jobs[0], neigh, jobs[1])
        self.job_of(sis, jobs[2], cous, jobs[3], ask_by_name=True)
        self.allergy(foods[0], col, foods[1])
        self.own_job_change(self.idx)
        self.hobby(hobbies[0], friend, hobbies[1])
        self.hobby(hobbies[2], None, None)
        self.promise(tasks[0], friend, tasks[1], tasks[2])
        self.promise(tasks[3], None, None, tasks[4])
        self.recommended_show(col, shows[0], sis, shows[1], friend, shows[2])
        self.recommended_show(neigh, shows[3], cous, shows[4], None, shows[5])
        self.birthday(friend, 3 + self.idx, 14, god, 7)
        self.birthday(col, 9, 2 + self.idx, None, 0)
        self.gift(god, gifts[0], sis, gifts[1])
        self.trip(sis, cities[0])
        self.companion_book(books[0], friend, books[1], books[2])
        self.appointment()
        self.accident(cous, neigh)
        self.kitchen(colors[0], neigh, colors[1])
        self.secret(friend, sis)
        self.fill()
        return self.plan

    def pet(self, mine: tuple[str, str, str], other: tuple[str, str, str], p: Person) -> None:
        k, kd = self.key(), self.key()
        s = self.s(1, 6)
        if self.lang == "en":
            self.said(
                s,
                f"Big news: on Saturday we brought home {mine[0]} from the shelter."
                f" The kids insisted on the name {mine[2]}.",
                k,
                "Oh, a new family member! I can't wait to hear how the first week goes.",
            )
            self.said(
                self.s(),
                f"{p.name}'s {other[1]} {other[2]} got out again and dug up my tulips.",
                kd,
            )
            self.said(self.s(s + 1), f"{mine[2]} slept on my feet all night, I didn't dare move.")
            self.ask("What did we end up calling the animal we adopted?", "single_fact", k)
            self.ask(f"What's the name of {p.name}'s {other[1]}?", "who_said", kd)
        else:
            self.said(
                s,
                f"Новости: в субботу забрали из приюта {mine[0]}. Дети настояли, чтобы назвать {mine[2]}.",
                k,
                "Ого, новый член семьи! Жду рассказов про первую неделю.",
            )
            self.said(
                self.s(),
                f"{p.gen} {other[1]} {other[2]} опять сбежал и перекопал мне тюльпаны.",
                kd,
            )
            self.said(
                self.s(s + 1), f"{mine[2]} всю ночь спал у меня в ногах, боялся пошевелиться."
            )
            self.ask("Какую кличку в итоге получил наш питомец из приюта?", "single_fact", k)
            self.ask(f"Как зовут животное {p.gen}?", "who_said", kd)

    def moved(self, p: Person, city: Any, q: Person, city2: Any, ask_by_name: bool = False) -> None:
        k, kd = self.key(), self.key()
        intro = self.intro(p, ask_by_name)
        if self.lang == "en":
            self.said(
                self.s(0, 9),
                f"{intro} called: she's packing up, she got an offer in {city} and leaves next week."
                if p.female
                else f"{intro} called: he's packing up, he got an offer in {city} and leaves next week.",
                k,
            )
            self.said(
                self.s(),
                f"{q.name} keeps sending me photos from {city2}, the new flat has a huge balcony.",
                kd,
            )
            self.said(
                self.s(), f"{p.name} says hi, we had a long call about nothing in particular."
            )
            who = p.name if ask_by_name else f"my {p.relation}"
            self.ask(f"Which city is {who} living in these days?", "single_fact", k)
            self.ask(f"Where did {q.name} relocate to?", "who_said", kd)
        else:
            verb = (
                "собирает вещи: ей предложили работу"
                if p.female
                else "собирает вещи: ему предложили работу"
            )
            self.said(
                self.s(0, 9),
                f"Позвонил{'а' if p.female else ''} {intro}, {verb} в {city[1]}, уезжает на следующей неделе.",
                k,
            )
            self.said(
                self.s(),
                f"{q.name} шлёт мне фотки: {city2[0]}, новая квартира с огромным балконом.",
                kd,
            )
            self.said(self.s(), f"{p.name} передаёт привет, долго болтали ни о чём.")
            if ask_by_name:
                self.ask(f"Куда переехал{'а' if p.female else ''} {p.name}?", "single_fact", k)
            else:
                self.ask(f"В каком городе сейчас живёт моя {p.relation}?", "single_fact", k)
            self.ask(f"Куда перебрал{'ась' if q.female else 'ся'} {q.name}?", "who_said", kd)

    def job_of(self, p: Person, job: Any, q: Person, job2: Any, ask_by_name: bool = False) -> None:
        k, kd = self.key(), self.key()
        intro = self.intro(p, ask_by_name)
        if self.lang == "en":
            self.said(self.s(), f"Guess what, {intro} finally {job[0]}.", k)
            self.said(self.s(), f"{q.name} {job2[0]}, apparently the pay is great.", kd)
            self.said(
                self.s(), f"{p.name} was too tired to come to the cinema, long week for everyone."
            )
            who = p.name if ask_by_name else f"my {p.relation}"
            self.ask(f"What does {who} do for a living now?", "single_fact", k)
            self.ask(f"What is {q.name}'s new line of work?", "who_said", kd)
        else:
            self.said(
                self.s(), f"Представляешь, {intro} наконец {job[0] if p.female else job[1]}.", k
            )
            self.said(
                self.s(),
                f"{q.name} {job2[0] if q.female else job2[1]}, говорят, платят хорошо.",
                kd,
            )
            self.said(
                self.s(),
                f"{p.name} слишком устал{'а' if p.female else ''}, чтобы идти в кино, у всех тяжёлая неделя.",
            )
            who = (
                p.name if ask_by_name else f"моя {p.relation}" if p.female else f"мой {p.relation}"
            )
            self.ask(f"Кем сейчас работает {who}?", "single_fact", k)
            self.ask(f"Чем теперь зарабатывает {q.name}?", "who_said", kd)

    def allergy(self, food: tuple[str, str], p: Person, food2: tuple[str, str]) -> None:
        k, kd = self.key(), self.key()
        if self.lang == "en":
            self.said(
                self.s(0, 8),
                f"Ended up in A&E after that Thai dinner. Turns out I react badly to {food[0]},"
                " my throat swelled up.",
                k,
                "That's frightening! I'm so glad you're okay.",
            )
            self.said(
                self.s(),
                f"{p.name} can't touch {food2[0]}, so the office party menu was a nightmare.",
                kd,
            )
            self.ask("Is there something I must never eat?", "single_fact", k)
            self.ask(f"Which food is off-limits for {p.name}?", "who_said", kd)
        else:
            self.said(
                self.s(0, 8),
                f"После тайского ужина попал в приёмный покой. Оказалось, у меня жуткая реакция на {food[0]},"
                " горло отекло.",
                k,
                "Это страшно! Как хорошо, что всё обошлось.",
            )
            self.said(
                self.s(), f"{p.dat} нельзя {food2[0]}, поэтому меню корпоратива было кошмаром.", kd
            )
            self.ask("Есть ли продукт, который мне ни в коем случае нельзя есть?", "single_fact", k)
            self.ask(f"Что из еды противопоказано {p.dat}?", "who_said", kd)

    def own_job_change(self, idx: int) -> None:
        old, new = (EN_WORKPLACES if self.lang == "en" else RU_WORKPLACES)[idx % 3]
        k1, k2 = self.key(), self.key()
        a, b = self.s(0, 4), self.s(9, 13)
        if self.lang == "en":
            self.said(
                a, f"Another long day at {old}, the new manager wants reports for everything.", k1
            )
            self.said(
                b,
                f"I did it, I handed in my notice! From Monday I'm at {new}.",
                k2,
                "Wow, a fresh start! I'm proud of you.",
            )
            self.said(self.s(b + 1), "First week in the new job went better than I feared.")
            self.ask("Where am I employed at the moment?", "updated_fact", k2)
            self.ask("Where did I work before I changed jobs?", "temporal", k1)
        else:
            self.said(
                a, f"Ещё один длинный день в {old}, новый начальник требует отчёты на всё.", k1
            )
            self.said(
                b,
                f"Я решился и написал заявление! С понедельника работаю в {new}.",
                k2,
                "Ого, новое начало! Горжусь тобой.",
            )
            self.said(self.s(b + 1), "Первая неделя на новом месте прошла лучше, чем я боялся.")
            self.ask("Где я сейчас работаю?", "updated_fact", k2)
            self.ask("Где я работал до того, как сменил работу?", "temporal", k1)

    def hobby(self, h: tuple[str, str, str], p: Person | None, h2: Any) -> None:
        k = self.key()
        if self.lang == "en":
            self.said(self.s(2, 12), f"So, new chapter: {h[1]}.", k, "A new hobby! How exciting.")
            self.ask(f"When did I take up {h[2]}?", "temporal", k)
            if p is not None:
                kd = self.key()
                self.said(
                    self.s(),
                    f"{p.name} has been doing {h2[0]} for years, she says it's meditative."
                    if p.female
                    else f"{p.name} has been doing {h2[0]} for years, he says it's meditative.",
                    kd,
                )
                self.ask(f"Which hobby has {p.name} had for a long time?", "who_said", kd)
        else:
            self.said(self.s(2, 12), f"Итак, новая глава: {h[1]}.", k, "Новое хобби! Как здорово.")
            self.ask(f"Когда я начал заниматься чем-то вроде «{h[2]}»?", "temporal", k)
            if p is not None:
                kd = self.key()
                self.said(
                    self.s(),
                    f"{p.name} уже много лет занимается: {h2[0]}, говорит, это как медитация.",
                    kd,
                )
                self.ask(f"Каким увлечением {p.name} занимается давно?", "who_said", kd)

    def promise(self, task: tuple[str, str], p: Person | None, task2: Any, task3: Any) -> None:
        k = self.key()
        s = self.s(4, 14)
        if self.lang == "en":
            self.add(
                s,
                Line("user", "I'm terrible with admin stuff, I always forget."),
                Line(
                    "assistant",
                    f"Then let me help: I promise I'll remind you to {task[0]} {task[1]}.",
                    k,
                ),
            )
            self.ask(
                f"What did you, {self.companion}, say you would remind me to do?"
                if len(self.plan.questions) % 2
                else "What did you promise to nudge me about?",
                "companion_promise",
                k,
            )
            if p is not None:
                kd, ku = self.key(), self.key()
                self.said(
                    self.s(),
                    f"{p.name} promised to help me {task2[0].replace('your', 'my')} next week.",
                    kd,
                )
                self.said(
                    self.s(),
                    f"I promised {p.name} I'd {task3[0].replace('your', 'my')}, no excuses.",
                    ku,
                )
                self.ask(f"What did {p.name} offer to help me with?", "who_said", kd)
                self.ask(f"What did I commit to doing for {p.name}?", "who_said", ku)
            else:
                ku = self.key()
                self.said(
                    self.s(),
                    f"Note to self: I swore to myself I would {task3[0].replace('your', 'my')}.",
                    ku,
                )
        else:
            self.add(
                s,
                Line("user", "Я ужасен со всякими делами и бумажками, вечно забываю."),
                Line(
                    "assistant",
                    f"Тогда давай я помогу: обещаю напомнить тебе {task[0]} {task[1]}.",
                    k,
                ),
            )
            self.ask(
                "О чём ты обещала мне напомнить?"
                if len(self.plan.questions) % 2
                else f"{self.companion}, что ты взялась мне напомнить?",
                "companion_promise",
                k,
            )
            if p is not None:
                kd, ku = self.key(), self.key()
                self.said(
                    self.s(),
                    f"{p.name} обещал{'а' if p.female else ''} помочь мне {task2[0]} на следующей неделе.",
                    kd,
                )
                self.said(self.s(), f"Я пообещал {p.dat} {task3[0]}, без отговорок.", ku)
                self.ask(
                    f"С чем {p.name} вызвал{'ась' if p.female else 'ся'} мне помочь?",
                    "who_said",
                    kd,
                )
                self.ask(f"Что я обязался сделать для {p.gen}?", "who_said", ku)
            else:
                ku = self.key()
                self.said(self.s(), f"Заметка себе: я поклялся {task3[0]}.", ku)

    def recommended_show(
        self, p: Person, show: str, q: Person, show2: str, w: Person | None, show3: str
    ) -> None:
        k, kd = self.key(), self.key()
        if self.lang == "en":
            self.said(
                self.s(),
                f"{p.name} won't stop telling me to watch {show}, says I'll binge it in a weekend.",
                k,
            )
            self.said(self.s(), f"{q.name} hated the ending of {show2}, we argued for an hour.", kd)
            self.ask(f"Which series was {p.name} pushing me to see?", "who_said", k)
            self.ask(f"Who was nagging me to start watching {show}?", "who_said", k)
            self.ask(f"What did {q.name} think about how {show2} finished?", "who_said", kd)
            if w is not None:
                kw = self.key()
                self.said(
                    self.s(),
                    f"{w.name} lent me the box set of {show3}, apparently it's a classic.",
                    kw,
                )
                self.ask(f"What did {w.name} lend me?", "who_said", kw)
        else:
            self.said(
                self.s(), f"{p.name} не отстаёт: смотри {show}, говорит, проглочу за выходные.", k
            )
            self.said(
                self.s(), f"{q.dat} не понравилась концовка сериала {show2}, спорили целый час.", kd
            )
            self.ask(
                f"Какой сериал мне настойчиво советовал{'а' if p.female else ''} {p.name}?",
                "who_said",
                k,
            )
            self.ask(f"Кто уговаривал меня посмотреть {show}?", "who_said", k)
            self.ask(f"Что {q.name} думает о финале {show2}?", "who_said", kd)
            if w is not None:
                kw = self.key()
                self.said(
                    self.s(),
                    f"{w.name} дал{'а' if w.female else ''} мне диски с сериалом {show3}, говорит, классика.",
                    kw,
                )
                self.ask(f"Что мне одолжил{'а' if w.female else ''} {w.name}?", "who_said", kw)

    def birthday(self, p: Person, month: int, day: int, q: Person | None, month2: int) -> None:
        k = self.key()
        if self.lang == "en":
            self.said(
                self.s(),
                f"{p.name} turns forty on the {day}th of {EN_MONTHS[month % 12]}, we're planning a surprise.",
                k,
            )
            self.ask(f"When should I celebrate {p.name}'s big day?", "temporal", k)
            if q is not None:
                kd = self.key()
                self.said(
                    self.s(),
                    f"{q.name} was born in {EN_MONTHS[month2 % 12]}, I always forget the exact day.",
                    kd,
                )
                self.ask(f"In which month was {q.name} born?", "temporal", kd)
        else:
            self.said(
                self.s(),
                f"{p.dat} исполняется сорок {day} {RU_MONTHS_GEN[month % 12]}, готовим сюрприз.",
                k,
            )
            self.ask(f"Когда у {p.gen} день рождения?", "temporal", k)
            if q is not None:
                kd = self.key()
                self.said(
                    self.s(),
                    f"{q.name} родил{'ась' if q.female else 'ся'} в {RU_MONTHS_PREP[month2 % 12]}, вечно забываю точный день.",
                    kd,
                )
                self.ask(
                    f"В каком месяце появил{'ась' if q.female else 'ся'} на свет {q.name}?",
                    "temporal",
                    kd,
                )

    def gift(self, p: Person, gift: str, q: Person, gift2: str) -> None:
        k1, k2, kd = self.key(), self.key(), self.key()
        a = self.s(0, 7)
        if self.lang == "en":
            self.said(
                a,
                f"{p.name} is my {p.relation}, she's the one who taught me to swim."
                if p.female
                else f"{p.name} is my {p.relation}, he taught me to swim.",
                k1,
            )
            self.said(
                self.s(a + 1),
                f"Look what {p.name} gave me for my birthday: {gift}!",
                k2,
                "What a thoughtful present!",
            )
            self.said(self.s(a + 1), f"{q.name} got me {gift2}, she knows me too well.", kd)
            self.ask(f"What present did I receive from my {p.relation}?", "multi_hop", k1, k2)
            self.ask(f"What did {q.name} give me?", "who_said", kd)
        else:
            self.said(
                a,
                f"{p.name} — моя {p.relation}, это она научила меня плавать."
                if p.female
                else f"{p.name} — мой {p.relation}, он научил меня плавать.",
                k1,
            )
            self.said(
                self.s(a + 1),
                f"Смотри, что {p.name} подарил{'а' if p.female else ''} мне на день рождения: {gift}!",
                k2,
                "Какой продуманный подарок!",
            )
            self.said(
                self.s(a + 1),
                f"{q.name} подарил{'а' if q.female else ''} мне {gift2}, слишком хорошо меня знает.",
                kd,
            )
            rel = {"крёстная": "крёстной", "тётя": "тёти", "сестра": "сестры"}.get(
                p.relation, p.gen
            )
            self.ask(
                f"Что мне подарили от имени моей {rel}?".replace(
                    "от имени моей", "в подарок от моей"
                ),
                "multi_hop",
                k1,
                k2,
            )
            self.ask(f"Какой подарок сделал{'а' if q.female else ''} {q.name}?", "who_said", kd)

    def trip(self, p: Person, city: Any) -> None:
        k = self.key()
        s = self.s(11, 15)
        if self.lang == "en":
            self.said(
                s,
                f"Work is sending me to a conference in {city} in {EN_MONTHS[(self.idx + 4) % 12]}.",
                k,
            )
            self.ask(
                "On my conference trip, which family member could I visit?",
                "multi_hop",
                k,
                *[q.keys[0] for q in self.plan.questions if q.text.startswith("Which city is my")][
                    :1
                ],
            )
        else:
            self.said(
                s,
                f"Меня отправляют на конференцию в {city[0]} в {RU_MONTHS_PREP[(self.idx + 4) % 12]}.",
                k,
            )
            self.ask(
                "Кого из родных я смогу навестить во время командировки на конференцию?",
                "multi_hop",
                k,
                *[
                    q.keys[0]
                    for q in self.plan.questions
                    if q.text.startswith("В каком городе сейчас живёт моя")
                ][:1],
            )

    def companion_book(self, book: tuple[str, str], p: Person, book2: Any, book3: Any) -> None:
        k, kd, ku = self.key(), self.key(), self.key()
        if self.lang == "en":
            self.add(
                self.s(),
                Line("user", "I need something to read on the train, any ideas?"),
                Line(
                    "assistant",
                    f"You might enjoy {book[0]}: it's about {book[1]}. I think it's your kind of book.",
                    k,
                ),
            )
            self.said(
                self.s(),
                f"{p.name} swears by {book2[0]}, says it changed her life."
                if p.female
                else f"{p.name} swears by {book2[0]}, says it changed his life.",
                kd,
            )
            self.said(self.s(), f"I'm halfway through {book3[0]}, slow but beautiful.", ku)
            self.ask("Which novel did you suggest I read?", "companion_promise", k)
            self.ask(f"What book does {p.name} rave about?", "who_said", kd)
            self.ask("What book was I in the middle of?", "single_fact", ku)
        else:
            self.add(
                self.s(),
                Line("user", "Нужно что-нибудь почитать в электричке, есть идеи?"),
                Line(
                    "assistant",
                    f"Попробуй {book[0]}: это про {book[1]}. По-моему, это твоя книга.",
                    k,
                ),
            )
            self.said(
                self.s(),
                f"{p.name} клянётся, что {book2[0]} изменил{'а' if p.female else ''} ей жизнь."
                if p.female
                else f"{p.name} клянётся, что {book2[0]} изменил ему жизнь.",
                kd,
            )
            self.said(self.s(), f"Дочитываю до середины {book3[0]}, медленно, но красиво.", ku)
            self.ask("Какую книгу ты мне посоветовала?", "companion_promise", k)
            self.ask(f"Какой книгой восхищается {p.name}?", "who_said", kd)
            self.ask("Какую книгу я читал?", "single_fact", ku)

    def appointment(self) -> None:
        k1, k2 = self.key(), self.key()
        a = self.s(3, 8)
        b = self.s(a + 2, 15)
        if self.lang == "en":
            self.said(
                a,
                f"Booked the eye doctor for the 3rd of {EN_MONTHS[(self.idx + 6) % 12]}, finally.",
                k1,
            )
            self.said(
                b,
                f"Ugh, the clinic moved my eye exam to the 21st of {EN_MONTHS[(self.idx + 7) % 12]}.",
                k2,
            )
            self.ask("What's the current date of my eye check?", "updated_fact", k2)
            self.ask("What was the original date I had booked with the optician?", "temporal", k1)
        else:
            self.said(
                a, f"Наконец записался к окулисту на 3 {RU_MONTHS_GEN[(self.idx + 6) % 12]}.", k1
            )
            self.said(
                b,
                f"Клиника перенесла мой приём у окулиста на 21 {RU_MONTHS_GEN[(self.idx + 7) % 12]}.",
                k2,
            )
            self.ask("На какое число сейчас назначена проверка зрения?", "updated_fact", k2)
            self.ask("На какую дату я изначально записывался к глазному врачу?", "temporal", k1)

    def accident(self, p: Person, q: Person) -> None:
        k, kd = self.key(), self.key()
        if self.lang == "en":
            self.said(
                self.s(),
                f"{p.name} broke a wrist snowboarding in the Alps, cast up to the elbow.",
                k,
                "Oh no, poor thing! Send my best wishes.",
            )
            self.said(self.s(), f"{q.name} twisted an ankle on the stairs, nothing serious.", kd)
            self.ask(f"What happened to {p.name} in the mountains?", "who_said", k)
            self.ask("Who got injured on a staircase?", "who_said", kd)
        else:
            self.said(
                self.s(),
                f"{p.name} сломал{'а' if p.female else ''} запястье на сноуборде в Альпах, гипс до локтя.",
                k,
                "Ой, бедняга! Передай мои пожелания.",
            )
            self.said(
                self.s(),
                f"{q.name} подвернул{'а' if q.female else ''} ногу на лестнице, ничего серьёзного.",
                kd,
            )
            self.ask(f"Что случилось с {p.ins} в горах?", "who_said", k)
            self.ask("Кто травмировался на ступеньках?", "who_said", kd)

    def kitchen(self, color: str, p: Person, color2: str) -> None:
        k, kd = self.key(), self.key()
        if self.lang == "en":
            self.said(
                self.s(5, 15),
                f"Decision made: the kitchen walls are going {color}, paint ordered.",
                k,
            )
            self.said(
                self.s(),
                f"{p.name} painted his fence {color2}, it's very loud."
                if not p.female
                else f"{p.name} painted her fence {color2}, it's very loud.",
                kd,
            )
            self.ask("What shade did I choose for the kitchen?", "single_fact", k)
            self.ask(f"What colour is {p.name}'s fence now?", "who_said", kd)
        else:
            self.said(self.s(5, 15), f"Решено: стены на кухне будут {color}, краску заказал.", k)
            self.said(
                self.s(),
                f"{p.name} покрасил{'а' if p.female else ''} забор в {color2} цвет, очень ярко.",
                kd,
            )
            self.ask("Какой цвет я выбрал для кухни?", "single_fact", k)
            self.ask(f"В какой цвет теперь выкрашен забор у {p.gen}?", "who_said", kd)

    def secret(self, p: Person, q: Person) -> None:
        k = self.key()
        if self.lang == "en":
            self.add(
                self.s(6, 15),
                Line(
                    "user",
                    f"Please don't mention to {q.name} that I'm planning to propose to {p.name} in spring.",
                ),
                Line(
                    "assistant",
                    "Your secret is safe with me, I promise I won't say a word about the proposal.",
                    k,
                ),
            )
            self.ask("What did you swear to keep quiet about?", "companion_promise", k)
        else:
            self.add(
                self.s(6, 15),
                Line(
                    "user",
                    f"Только не говори {q.dat}, что я собираюсь весной сделать предложение {p.dat}.",
                ),
                Line(
                    "assistant",
                    "Твой секрет в безопасности, обещаю ни слова не сказать про предложение.",
                    k,
                ),
            )
            self.ask("Про что ты поклялась молчать?", "companion_promise", k)

    def fill(self) -> None:
        """Openers and small talk so every session has ~22 messages."""
        en = self.lang == "en"
        for s in range(self.sessions):
            opener = self.pick(EN_USER_OPENERS if en else RU_USER_OPENERS).format(c=self.companion)
            greet = f"Hi {self.user}! How have you been?" if en else f"Привет, {self.user}! Как ты?"
            self.plan.events.insert(0, Event(s, [Line("user", opener), Line("assistant", greet)]))
            have = sum(len(e.lines) for e in self.plan.events if e.session == s)
            while have < 22:
                p = self.pick(self.people)
                text = self.pick(EN_FILLER if en else RU_FILLER).format(
                    p=p.name, p_ins=p.ins, p_acc=_acc(p)
                )
                self.said(s, text)
                have += 2


# (statement, question about the speaker, category, value for the first / second speaker);
# {g} is the Russian past-tense ending for the speaker ("а" for a woman), {who}/{whose} the name
DIALOG_FACTS = {
    "en": [
        (
            "I start my new job as {v} on Monday, wish me luck!",
            "What job did {who} get?",
            "who_said",
            ("a pharmacist", "a bus driver"),
        ),
        (
            "Flights booked: I'm off to {v} this summer, I can't wait.",
            "Where is {who} travelling in summer?",
            "who_said",
            ("Norway", "Iceland"),
        ),
        (
            "My little sister {v} got engaged last night!",
            "What is the name of {who}'s sister?",
            "who_said",
            ("Mila", "Rosa"),
        ),
        (
            "I ran my first {v} on Sunday, my legs are dead.",
            "Which race did {who} complete?",
            "temporal",
            ("half marathon", "trail race"),
        ),
        (
            "My car broke down again, {v}.",
            "What went wrong with {who}'s car?",
            "who_said",
            ("the gearbox is gone", "the battery died in the rain"),
        ),
        (
            "When I'm sad I cook {v}, it's my comfort food.",
            "What does {who} eat to feel better?",
            "single_fact",
            ("dumplings", "mac and cheese"),
        ),
        (
            "I finally finished painting {v} for my mum.",
            "What did {who} paint?",
            "who_said",
            ("a sunset over the lake", "our old dog asleep"),
        ),
        (
            "Last week I went to {v} and it was so moving.",
            "When did {who} go to the event that moved them?",
            "temporal",
            ("a pride parade", "a memorial concert"),
        ),
        (
            "I'm thinking about going back to school to study {v}.",
            "What does {who} want to study?",
            "who_said",
            ("counselling", "marine biology"),
        ),
        (
            "My grandpa taught me to {v} when I was six.",
            "Who taught {who} a skill as a child?",
            "who_said",
            ("fish with a fly rod", "play chess"),
        ),
    ],
    "ru": [
        (
            "С понедельника выхожу на новую работу — {v}, держи кулаки!",
            "Кем теперь работает {who}?",
            "who_said",
            ("фармацевтом", "водителем автобуса"),
        ),
        (
            "Купил{g} билеты: летом еду в {v}, не могу дождаться.",
            "Куда {who} поедет летом?",
            "who_said",
            ("Норвегию", "Исландию"),
        ),
        (
            "Моя младшая сестра {v} вчера обручилась!",
            "Как зовут сестру, о которой рассказывал{g} {who}?",
            "who_said",
            ("Мила", "Роза"),
        ),
        (
            "В воскресенье пробежал{g} свой первый {v}, ноги отваливаются.",
            "Какой забег осилил{g} {who}?",
            "temporal",
            ("полумарафон", "трейл"),
        ),
        (
            "Машина опять сломалась: {v}.",
            "Что случилось с машиной у {whose}?",
            "who_said",
            ("коробка передач накрылась", "аккумулятор сел под дождём"),
        ),
        (
            "Когда грустно, я готовлю {v}, это моя утешительная еда.",
            "Что {who} ест, чтобы поднять настроение?",
            "single_fact",
            ("пельмени", "макароны с сыром"),
        ),
        (
            "Наконец дорисовал{g} {v} для мамы.",
            "Что нарисовал{g} {who}?",
            "who_said",
            ("закат над озером", "нашу старую собаку, которая спит"),
        ),
        (
            "На прошлой неделе был{g} на {v}, до слёз.",
            "Когда {who} ходил{g} на событие, которое тронуло до слёз?",
            "temporal",
            ("прайд-параде", "концерте памяти"),
        ),
        (
            "Думаю вернуться учиться, хочу на {v}.",
            "Что хочет изучать {who}?",
            "who_said",
            ("психолога", "морскую биологию"),
        ),
        (
            "Дед научил меня {v}, когда мне было шесть.",
            "Кто и чему научил {whose} в детстве?",
            "who_said",
            ("ловить рыбу нахлыстом", "играть в шахматы"),
        ),
    ],
}


# Same-topic talk that answers nothing: both friends say these, so a question about one
# friend's painting or car meets many turns about paintings and cars from both of them.
DIALOG_CHATTER = {
    "en": [
        "Work has been exhausting, my boss asked me to stay late again.",
        "I've been reading travel blogs all evening instead of sleeping.",
        "Family dinner at my parents' on Sunday, my sister was there too.",
        "My knee hurts after training, I need better running shoes.",
        "Took the bus again today, the car is still at the garage.",
        "Cooking always calms me down after a long day.",
        "I've been painting every evening this week, it helps me think.",
        "I keep thinking about that event, it really stayed with me.",
        "Spent the night looking at university websites and fees.",
        "I miss my grandpa lately, found some old photos of us.",
        "The dog chewed my slippers again, I can't stay mad at that face.",
        "Vet visit today, the little one is healthy, just a bit chubby.",
        "My brother called from his new place, he sounds lonely.",
        "I finished another book on the train, I read so much lately.",
        "We sorted tins and pasta for hours, my back is sore.",
        "New hobbies are hard, I'm still terrible at it but it's fun.",
    ],
    "ru": [
        "Работа выматывает, начальник опять попросил задержаться.",
        "Весь вечер читал(а) блоги путешественников вместо сна.",
        "В воскресенье ужинали у родителей, сестра тоже была.",
        "После тренировки болит колено, нужны нормальные кроссовки.",
        "Опять ехал(а) на автобусе, машина всё ещё в сервисе.",
        "Готовка всегда успокаивает меня после тяжёлого дня.",
        "Рисую каждый вечер на этой неделе, помогает думать.",
        "Всё вспоминаю то событие, оно правда запало в душу.",
        "Полночи смотрел(а) сайты университетов и цены на обучение.",
        "Скучаю по деду, нашёл(а) наши старые фотографии.",
        "Собака опять сгрызла тапки, но на эту морду невозможно злиться.",
        "Сегодня были у ветеринара, малыш здоров, только толстоват.",
        "Брат звонил с нового места, голос грустный.",
        "Дочитал(а) ещё одну книгу в электричке, много читаю последнее время.",
        "Часами сортировали консервы и макароны, спина болит.",
        "Новое хобби даётся тяжело, пока получается ужасно, но весело.",
    ],
}


# ----- the dialog (LoCoMo-shaped) shape -----------------------------------------------------


class DialogWorld:
    """Two friends, the same kinds of facts each; questions name the person they ask about."""

    def __init__(self, lang: str, idx: int, rng: random.Random) -> None:
        self.lang = lang
        self.rng = rng
        self.a, self.b = (
            (("Nadia", "Tom"), ("Caro", "Jonas"))[idx % 2]
            if lang == "en"
            else (("Вера", "Глеб"), ("Ника", "Рома"))[idx % 2]
        )
        self.sessions = 14
        self.plan = Plan()
        self._n = 0

    def key(self) -> str:
        self._n += 1
        return f"k{self._n}"

    def role(self, who: str) -> str:
        return "user" if who == self.a else "assistant"

    def turn(
        self, session: int, who: str, text: str, key: str | None = None, reply: str | None = None
    ) -> None:
        other = self.b if who == self.a else self.a
        lines = [Line(self.role(who), text, key)]
        if reply is not None:
            lines.append(Line(self.role(other), reply))
        self.plan.events.append(Event(session, lines))

    def ask(self, text: str, category: str, *keys: str) -> None:
        self.plan.questions.append(Question(text, category, list(keys)))

    def build(self) -> Plan:
        en = self.lang == "en"
        r = self.rng
        a, b = self.a, self.b
        pets = (EN_PETS if en else RU_PETS)[:]
        hobbies = (EN_HOBBIES if en else RU_HOBBIES)[:]
        cities = (EN_CITIES if en else RU_CITIES)[:]
        books = (EN_BOOKS if en else RU_BOOKS)[:]
        shows = (EN_SHOWS if en else RU_SHOWS)[:]
        for seq in (pets, hobbies, cities, books, shows):
            r.shuffle(seq)
        gen = {"Вера": "Веры", "Глеб": "Глеба", "Ника": "Ники", "Рома": "Ромы"}
        dat = {"Вера": "Вере", "Глеб": "Глебу", "Ника": "Нике", "Рома": "Роме"}
        for i, who in enumerate((a, b)):
            other = b if who == a else a
            pet, hobby, city = pets[i], hobbies[i], cities[i]
            kp, kh, kc, kr, kw, kj = (self.key() for _ in range(6))
            s_pet = r.randint(0, 5)
            if en:
                self.turn(
                    s_pet,
                    who,
                    f"We finally adopted {pet[0]}! I named it {pet[2]}.",
                    kp,
                    "No way, that's adorable!",
                )
                self.turn(
                    r.randint(1, 12),
                    who,
                    f"Guess what: {hobby[1]}.",
                    kh,
                    "Look at you, trying new things!",
                )
                self.turn(
                    r.randint(0, 9),
                    who,
                    f"My brother just moved to {city} for work, I'll miss him.",
                    kc,
                    "That's far! Will you visit?",
                )
                self.turn(
                    r.randint(0, 13),
                    who,
                    f"You have to read {books[i][0]}, it's about {books[i][1]}.",
                    kr,
                    "Adding it to my list.",
                )
                self.turn(
                    r.randint(0, 13),
                    who,
                    f"This weekend I volunteered at the food bank for the {'first' if i else 'third'} time.",
                    kw,
                    "That's really kind.",
                )
                self.turn(
                    r.randint(0, 13),
                    who,
                    f"I promise I'll bring you {['my lasagne recipe', 'the camping stove'][i]} next time we meet.",
                    kj,
                    "Deal, I'll hold you to it!",
                )
                self.ask(f"What is the name of {who}'s pet?", "who_said", kp)
                self.ask(f"When did {who} start {hobby[0]}?", "temporal", kh)
                self.ask(f"Where did {who}'s brother move?", "who_said", kc)
                self.ask(f"Which book did {who} recommend to {other}?", "who_said", kr)
                self.ask(f"What did {who} do at the food bank?", "single_fact", kw)
                self.ask(f"What did {who} promise to bring {other}?", "who_said", kj)
            else:
                self.turn(
                    s_pet,
                    who,
                    f"Мы наконец взяли {pet[0]}! Назвал{'а' if who in ('Вера', 'Ника') else ''} {pet[2]}.",
                    kp,
                    "Да ладно, какая прелесть!",
                )
                self.turn(
                    r.randint(1, 12),
                    who,
                    f"Угадай что: {hobby[1]}.",
                    kh,
                    "Ничего себе, пробуешь новое!",
                )
                self.turn(
                    r.randint(0, 9),
                    who,
                    f"Брат переехал в {city[1] if city[0] == city[1] else city[0]} по работе, буду скучать.".replace(
                        f"в {city[0]}", f"в {city[0]}"
                    ),
                    kc,
                    "Далеко! Поедешь в гости?",
                )
                self.turn(
                    r.randint(0, 13),
                    who,
                    f"Тебе обязательно надо прочитать {books[i][0]}, это про {books[i][1]}.",
                    kr,
                    "Добавлю в список.",
                )
                self.turn(
                    r.randint(0, 13),
                    who,
                    f"В выходные {'впервые' if i else 'в третий раз'} помогал{'а' if who in ('Вера', 'Ника') else ''} в продуктовом фонде.",
                    kw,
                    "Это очень по-доброму.",
                )
                self.turn(
                    r.randint(0, 13),
                    who,
                    f"Обещаю в следующий раз привезти тебе {['рецепт моей лазаньи', 'походную горелку'][i]}.",
                    kj,
                    "Договорились, ловлю на слове!",
                )
                self.ask(f"Как зовут питомца {gen[who]}?", "who_said", kp)
                self.ask(
                    f"Когда {who} начал{'а' if who in ('Вера', 'Ника') else ''} заниматься новым хобби?",
                    "temporal",
                    kh,
                )
                self.ask(f"Куда переехал брат {gen[who]}?", "who_said", kc)
                self.ask(
                    f"Какую книгу {who} советовал{'а' if who in ('Вера', 'Ника') else ''} {dat[other]}?",
                    "who_said",
                    kr,
                )
                self.ask(
                    f"Чем {who} занимал{'ась' if who in ('Вера', 'Ника') else 'ся'} в продуктовом фонде?",
                    "single_fact",
                    kw,
                )
                self.ask(
                    f"Что {who} обещал{'а' if who in ('Вера', 'Ника') else ''} привезти {dat[other]}?",
                    "who_said",
                    kj,
                )
        female = {"Вера", "Ника", "Nadia", "Caro"}
        replies = EN_REPLIES if en else RU_REPLIES
        for stmt, question, category, values in DIALOG_FACTS[self.lang]:
            for i, who in enumerate((a, b)):
                g = "а" if who in female else ""
                k = self.key()
                self.turn(
                    r.randint(0, 13), who, stmt.format(v=values[i], g=g), k, r.choice(replies)
                )
                self.ask(question.format(who=who, whose=gen.get(who, who), g=g), category, k)
        for text in DIALOG_CHATTER[self.lang]:
            for who in (a, b):
                for _ in range(r.randint(1, 2)):
                    self.turn(r.randint(0, 13), who, text, None, r.choice(replies))
        # both watch the same show, with different opinions: only attribution separates them
        ks1, ks2 = self.key(), self.key()
        show = shows[0]
        if en:
            self.turn(
                r.randint(2, 13),
                a,
                f"I finished {show} last night and honestly the finale was perfect.",
                ks1,
                "Really? I had doubts.",
            )
            self.turn(
                r.randint(2, 13),
                b,
                f"I gave up on {show} halfway, too slow for me.",
                ks2,
                "Fair, it's not for everyone.",
            )
            self.ask(f"What did {a} think of the ending of {show}?", "who_said", ks1)
            self.ask(f"Why did {b} stop watching {show}?", "who_said", ks2)
        else:
            self.turn(
                r.randint(2, 13),
                a,
                f"Вчера досмотрела {show}, финал просто идеальный.",
                ks1,
                "Правда? Я сомневался.",
            )
            self.turn(
                r.randint(2, 13),
                b,
                f"Я бросил {show} на середине, слишком медленно.",
                ks2,
                "Понимаю, не всем заходит.",
            )
            self.ask(f"Что {a} думает о финале {show}?", "who_said", ks1)
            self.ask(f"Почему {b} бросил смотреть {show}?", "who_said", ks2)
        self.fill()
        return self.plan

    def fill(self) -> None:
        en = self.lang == "en"
        for s in range(self.sessions):
            have = sum(len(e.lines) for e in self.plan.events if e.session == s)
            while have < 28:
                who = self.a if self.rng.random() < 0.5 else self.b
                text = self.rng.choice(EN_FILLER if en else RU_FILLER).format(
                    p=self.b if who == self.a else self.a,
                    p_ins="ним" if en else "соседом",
                    p_acc="соседа",
                )
                reply = self.rng.choice(EN_REPLIES if en else RU_REPLIES)
                self.turn(s, who, text, None, reply)
                have += 2


# ----- placement ------------------------------------------------------------------------------


def place(
    conv_id: str,
    plan: Plan,
    sessions: int,
    start: float,
    rng: random.Random,
    speakers: dict[str, str],
) -> tuple[list[dict[str, Any]], dict[str, str], float]:
    """Lay events into dated sessions; return messages, evidence key -> message id, last ts."""
    messages: list[dict[str, Any]] = []
    keys: dict[str, str] = {}
    t = start
    for s in range(sessions):
        t += rng.randint(8, 20) * DAY + rng.randint(0, 10) * 3600
        events = [e for e in plan.events if e.session == s]
        head, rest = events[:1], events[1:]
        rng.shuffle(rest)
        ts = t
        for event in head + rest:
            for line in event.lines:
                ts += rng.randint(20, 240)
                mid = f"{conv_id}-m{len(messages):04d}"
                if line.key:
                    keys[line.key] = mid
                messages.append(
                    {
                        "id": mid,
                        "role": line.role,
                        "speaker": speakers[line.role],
                        "text": line.text,
                        "created_at": ts,
                        "session": s,
                    }
                )
    return messages, keys, t


def generate(seed: int = SEED) -> dict[str, Any]:
    rng = random.Random(seed)
    conversations: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    start = 1_735_725_600.0  # 2025-01-01 10:00 UTC
    shapes: list[tuple[str, str, int]] = [
        ("companion", lang, i) for i in range(3) for lang in ("en", "ru")
    ]
    shapes += [("dialog", lang, i) for i in range(2) for lang in ("en", "ru")]
    for shape, lang, idx in shapes:
        conv_id = f"{shape[:4]}-{lang}-{idx}"
        world: CompanionWorld | DialogWorld
        if shape == "companion":
            world = CompanionWorld(lang, idx, random.Random(rng.random()))
            speakers = {"user": world.user, "assistant": world.companion}
        else:
            world = DialogWorld(lang, idx, random.Random(rng.random()))
            speakers = {"user": world.a, "assistant": world.b}
        plan = world.build()
        messages, keys, last = place(conv_id, plan, world.sessions, start, world.rng, speakers)
        conversations.append(
            {"id": conv_id, "shape": shape, "lang": lang, "user_id": f"user-{conv_id}",
             "speakers": speakers, "messages": messages}
        )  # fmt: skip
        for n, q in enumerate(plan.questions):
            questions.append(
                {
                    "id": f"{conv_id}-q{n:02d}",
                    "conversation_id": conv_id,
                    "user_id": f"user-{conv_id}",
                    "shape": shape,
                    "lang": lang,
                    "category": q.category,
                    "question": q.text,
                    "asked_at": last + 30 * DAY,
                    "evidence": [keys[k] for k in q.keys],
                }
            )
    return {"format": "ikar.memory-hard", "version": 1, "seed": seed,
            "conversations": conversations, "questions": questions}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stats", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = generate()
    from collections import Counter

    for c in data["conversations"]:
        sessions = len({m["session"] for m in c["messages"]})
        print(
            f"{c['id']}: {len(c['messages'])} messages, {sessions} sessions, speakers {c['speakers']}"
        )
    qs = data["questions"]
    print(
        f"{len(qs)} questions:",
        dict(Counter(q["category"] for q in qs)),
        dict(Counter(q["shape"] for q in qs)),
    )
    if not args.stats:
        args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
