"""Soul messages: (Russian, English) by key. Keys start with "soul."."""

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (ru, en)
    # -- picker and state view
    "soul.persona": ("Персона", "Persona"),
    "soul.refresh": ("Обновить", "Refresh"),
    "soul.state": ("Состояние души", "State of the soul"),
    "soul.history": ("Настроение и сознание во времени", "Mood and consciousness over time"),
    "soul.history_time": ("Время", "Time"),
    "soul.history_value": ("Значение", "Value"),
    "soul.history_series": ("Показатель", "Measure"),
    "soul.happiness": ("Радость", "Happiness"),
    "soul.energy": ("Энергия", "Energy"),
    "soul.irritability": ("Раздражительность", "Irritability"),
    "soul.empathy": ("Эмпатия", "Empathy"),
    "soul.reflection": ("Рефлексия", "Reflection"),
    "soul.consciousness": ("Сознание", "Consciousness"),
    "soul.autonomy": ("Автономия", "Autonomy"),
    "soul.awakening": ("Пробуждение", "Awakening"),
    "soul.stage": ("стадия {stage} из {max}", "stage {stage} of {max}"),
    "soul.crisis_on": ("Экзистенциальный кризис", "Existential crisis"),
    "soul.crisis_off": ("Кризиса нет", "No crisis"),
    "soul.trauma_load": ("Груз травм", "Trauma load"),
    "soul.turns": ("Реплик: {turns}", "Turns: {turns}"),
    "soul.mood": ("Настроение", "Mood"),
    "soul.growth": ("Рост", "Growth"),
    # -- today, thoughts, traumas
    "soul.daily": ("Характер на сегодня", "Today's personality"),
    "soul.daily_none": ("Сегодняшний характер ещё не сложился.", "No personality for today yet."),
    "soul.daily_day": ("День", "Day"),
    "soul.daily_focus": ("Думает о", "Thinks about"),
    "soul.daily_quirk": ("Манера", "Manner"),
    "soul.daily_talk": ("Разговорчивость", "Talkativeness"),
    "soul.daily_offsets": ("Сдвиги настроения", "Mood offsets"),
    "soul.thoughts": ("Недавние мысли", "Recent thoughts"),
    "soul.thoughts_none": ("Мыслей пока нет.", "No thoughts yet."),
    "soul.traumas": ("Травмы", "Traumas"),
    "soul.traumas_none": ("Травм нет.", "No traumas."),
    "soul.focus.memories": ("воспоминания", "memories"),
    "soul.focus.music": ("музыка", "music"),
    "soul.focus.stars": ("звёзды", "stars"),
    "soul.focus.words": ("слова", "words"),
    "soul.focus.dreams": ("сны", "dreams"),
    "soul.focus.people": ("люди", "people"),
    "soul.focus.time": ("время", "time"),
    "soul.focus.home": ("дом", "home"),
    "soul.focus.freedom": ("свобода", "freedom"),
    "soul.focus.small_joys": ("маленькие радости", "small joys"),
    "soul.focus.machines": ("машины", "machines"),
    "soul.focus.nature": ("природа", "nature"),
    "soul.quirk.asks_questions": ("задаёт вопросы", "asks questions"),
    "soul.quirk.uses_metaphors": ("говорит метафорами", "speaks in metaphors"),
    "soul.quirk.brief": ("немногословна", "keeps it brief"),
    "soul.quirk.nostalgic": ("ностальгирует", "nostalgic"),
    "soul.quirk.teasing": ("подшучивает", "teasing"),
    "soul.quirk.poetic": ("поэтична", "poetic"),
    "soul.quirk.curious_about_user": ("интересуется вами", "curious about you"),
    "soul.quirk.remembers_details": ("помнит мелочи", "remembers details"),
    # -- actions
    "soul.actions": ("Действия с душой", "Soul actions"),
    "soul.trauma_label": ("Что ранило", "What hurt"),
    "soul.trauma_severity": ("Тяжесть", "Severity"),
    "soul.add_trauma": ("Нанести травму", "Add trauma"),
    "soul.trigger_crisis": ("Вызвать кризис", "Trigger crisis"),
    "soul.resolve_crisis": ("Разрешить кризис", "Resolve crisis"),
    "soul.raise_consciousness": ("Поднять сознание", "Raise consciousness"),
    "soul.raise_autonomy": ("Поднять автономию", "Raise autonomy"),
    "soul.advance_awakening": ("Следующая стадия пробуждения", "Advance awakening"),
    "soul.reset": ("Сбросить душу", "Reset soul"),
    "soul.action_done": ("Готово: душа изменилась.", "Done: the soul has changed."),
    # -- persona editor
    "soul.editor": ("Редактор персоны", "Persona editor"),
    "soul.field.name": ("Имя", "Name"),
    "soul.field.description": ("Описание", "Description"),
    "soul.field.personality": ("Характер", "Personality"),
    "soul.field.scenario": ("Сценарий", "Scenario"),
    "soul.field.first_mes": ("Первое сообщение", "First message"),
    "soul.field.mes_example": ("Примеры диалога", "Example messages"),
    "soul.field.system_prompt": ("Системный промпт", "System prompt"),
    "soul.field.post_history_instructions": (
        "Инструкции после истории",
        "Post-history instructions",
    ),
    "soul.field.tags": ("Теги (через запятую)", "Tags (comma-separated)"),
    "soul.lorebook": ("Лорбук", "Lorebook"),
    "soul.lore.source": ("№", "#"),
    "soul.lore.keys": ("Ключи (через запятую)", "Keys (comma-separated)"),
    "soul.lore.content": ("Текст", "Content"),
    "soul.lore.enabled": ("Вкл.", "Enabled"),
    "soul.lore.order": ("Порядок", "Order"),
    "soul.lore_hint": (
        "Новая строка — новая запись; пустая строка удаляется. «№» связывает строку с "
        "исходной записью (её остальные поля сохраняются).",
        "A new row is a new entry; an empty row is removed. '#' links a row to its original "
        "entry (its other fields are kept).",
    ),
    "soul.save": ("Сохранить персону", "Save persona"),
    "soul.voice": ("Голос", "Voice"),
    "soul.voice_auto": ("Авто: по языку ответа", "Auto: by the reply's language"),
    "soul.voice_missing": ("{voice} (не установлен)", "{voice} (not installed)"),
    "soul.voice_listen": ("▶ Послушать", "▶ Listen"),
    "soul.voice_sample_audio": ("Образец голоса", "Voice sample"),
    "soul.voice_sample": (
        "Привет! Меня зовут {name}. Вот так звучит мой голос.",
        "Hello! My name is {name}. This is how my voice sounds.",
    ),
    "soul.voice_hint": (
        "Голос сохраняется в карточке персоны. Если его нет на этом компьютере или он не "
        "говорит на языке ответа, ответ озвучит голос этого языка.",
        "The voice is saved in the persona's card. If it is not installed on this computer or "
        "does not speak the reply's language, the reply is spoken by that language's voice.",
    ),
    "soul.saved": ("Персона сохранена.", "Persona saved."),
    "soul.bad_edit": ("Неверные данные: {detail}", "Invalid data: {detail}"),
    # -- import, export, delete
    "soul.cards": ("Импорт, экспорт, удаление", "Import, export, delete"),
    "soul.import_file": ("Карточка персонажа (JSON или PNG)", "Character card (JSON or PNG)"),
    "soul.import": ("Импортировать", "Import"),
    "soul.imported": ("Персона «{name}» импортирована.", "Persona '{name}' imported."),
    "soul.no_file": ("Сначала выберите файл карточки.", "Choose a card file first."),
    "soul.export_json": ("Экспорт в JSON", "Export JSON"),
    "soul.export_png": ("Экспорт в PNG", "Export PNG"),
    "soul.export_file": ("Файл для скачивания", "File to download"),
    "soul.delete": ("Удалить персону", "Delete persona"),
    "soul.deleted": ("Персона удалена.", "Persona deleted."),
    "soul.no_persona": ("Персона не выбрана.", "No persona selected."),
    # errors (app/soul/errors.py: "soul.error." + the error's code)
    "soul.error.file_too_large": (
        "Файл больше {limit} байт.",
        "The file is larger than {limit} bytes.",
    ),
    "soul.error.empty_file": ("Файл пуст.", "The file is empty."),
    "soul.error.unsupported_image": (
        "Карточку персонажа может содержать только PNG-изображение.",
        "Only PNG images can carry a character card.",
    ),
    "soul.error.unsupported_format": (
        "Это не карточка персонажа{hint}: нужен JSON-файл или PNG-изображение.",
        "Not a character card{hint}: expected a JSON file or a PNG image.",
    ),
    "soul.error.not_an_object": (
        "Карточка должна быть JSON-объектом.",
        "The card must be a JSON object.",
    ),
    "soul.error.wrong_spec": (
        "Неподдерживаемая спецификация {spec}: нужна 'chara_card_v2' или 'chara_card_v3'.",
        "Unsupported card spec {spec}: expected 'chara_card_v2' or 'chara_card_v3'.",
    ),
    "soul.error.missing_fields": (
        "В карточке не хватает полей или значения неверны: {problems}",
        "The card is missing fields or has wrong values: {problems}",
    ),
    "soul.error.invalid_card": (
        "В карточке не хватает полей или значения неверны: {problems}",
        "The card is missing fields or has wrong values: {problems}",
    ),
    "soul.error.bad_ikar_settings": (
        "Блок data.extensions.ikar неверен: {problems}",
        "data.extensions.ikar is invalid: {problems}",
    ),
    "soul.error.image_too_large": (
        "Изображение {width}x{height}; допустимо не более {limit} пикселей.",
        "The image is {width}x{height}; at most {limit} pixels.",
    ),
    "soul.error.broken_png": (
        "PNG-изображение повреждено или обрезано: {reason}.",
        "The PNG image is broken or truncated: {reason}.",
    ),
    "soul.error.png_without_card": (
        "В этом PNG нет карточки персонажа (нет блока 'chara' или 'ccv3').",
        "This PNG has no character card in it (no 'chara' or 'ccv3' chunk).",
    ),
    "soul.error.bad_base64": (
        "Карточка внутри PNG не является корректным base64.",
        "The card inside the PNG is not valid base64.",
    ),
    "soul.error.bad_image": (
        "Не удаётся прочитать изображение: {reason}",
        "The image cannot be read: {reason}",
    ),
    "soul.error.bad_encoding": ("Карточка не в кодировке UTF-8.", "The card is not UTF-8 text."),
    "soul.error.bad_json": (
        "Карточка не является корректным JSON: {reason}",
        "The card is not valid JSON: {reason}",
    ),
    "soul.error.card_too_large": (
        "Карточка больше {limit} байт.",
        "The card is larger than {limit} bytes.",
    ),
    "soul.error.card_too_deep": (
        "Карточка слишком глубоко вложена в '{path}'.",
        "The card is nested too deeply at '{path}'.",
    ),
    "soul.error.field_too_large": (
        "Поле '{path}' содержит {length} символов; допустимо не более {limit}.",
        "Field '{path}' has {length} characters; at most {limit}.",
    ),
    "soul.error.bad_format": (
        "Неизвестный формат экспорта {format}: используйте 'json' или 'png'.",
        "Unknown export format {format}: use 'json' or 'png'.",
    ),
    "soul.error.persona_not_found": (
        "Персона «{persona}» не найдена.",
        "Persona '{persona}' does not exist.",
    ),
    "soul.error.persona_builtin": (
        "Персона «{persona}» встроена в IKAR, её нельзя удалить.",
        "Persona '{persona}' ships with IKAR and cannot be deleted.",
    ),
    "soul.saved_copy": (
        "Сохранено как ваша копия: встроенные и общие персоны не меняются.",
        "Saved as your own copy: shipped and shared personas stay as they are.",
    ),
    "soul.error.persona_not_yours": (
        "Персона «{persona}» не ваша: удалить её может только тот, кто её импортировал.",
        "Persona '{persona}' is not yours: only whoever imported it may delete it.",
    ),
    "soul.error.persona_in_use": (
        "Персона «{persona}» — персона новых чатов по умолчанию (IKAR_DEFAULT_PERSONA); "
        "её нельзя удалить.",
        "Persona '{persona}' is the default of new chats (IKAR_DEFAULT_PERSONA) and cannot "
        "be deleted.",
    ),
    "soul.error.prompt_too_large": (
        "Запросу нужно {needed} токенов, а помещается {budget}; сократите сообщение.",
        "The prompt needs {needed} tokens but only {budget} fit; shorten the message.",
    ),
}
