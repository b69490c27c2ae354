"""Memory messages: (Russian, English) by key. Keys start with "memory."."""

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (ru, en)
    # -- sections
    "memory.section.profile": ("Что я о тебе знаю (профиль)", "What I know about you (profile)"),
    "memory.section.search": ("Поиск по памяти", "Search memory"),
    "memory.section.browse": ("Все воспоминания", "All memories"),
    "memory.section.add": ("Добавить воспоминание", "Add a memory"),
    "memory.section.transfer": ("Импорт и экспорт", "Import and export"),
    "memory.section.stats": ("Статистика и обслуживание", "Statistics and maintenance"),
    # -- search
    "memory.query": ("Что вспомнить?", "What to recall?"),
    "memory.query_placeholder": (
        "Например: любимая еда, день рождения, планы на лето",
        "For example: favourite food, birthday, summer plans",
    ),
    "memory.k": ("Сколько результатов", "How many results"),
    "memory.mode": ("Способ поиска", "Search mode"),
    "memory.mode.hybrid": ("Гибридный", "Hybrid"),
    "memory.mode.dense": ("По смыслу", "By meaning"),
    "memory.mode.keyword": ("По словам", "By words"),
    "memory.persona": ("Персона", "Persona"),
    "memory.all_personas": ("Все персоны", "All personas"),
    "memory.search": ("Искать", "Search"),
    "memory.results": ("Найдено", "Results"),
    "memory.empty_query": (
        "Введите, что искать.",
        "Type what to search for.",
    ),
    "memory.found": ("Найдено воспоминаний: {count}", "Memories found: {count}"),
    "memory.nothing_found": ("Ничего не нашлось.", "Nothing found."),
    # -- table columns
    "memory.col.id": ("№", "ID"),
    "memory.col.author": ("Кто сказал", "Said by"),
    "memory.col.source": ("Откуда", "Source"),
    "memory.col.score": ("Оценка", "Score"),
    "memory.col.kind": ("Тип", "Kind"),
    "memory.col.text": ("Текст", "Text"),
    "memory.col.created": ("Создано", "Created"),
    "memory.col.importance": ("Важность", "Importance"),
    "memory.col.pinned": ("Закреплено", "Pinned"),
    "memory.col.sources": ("Сообщения-источники", "Source messages"),
    # -- kinds
    "memory.kind": ("Тип", "Kind"),
    "memory.kind.any": ("Любой", "Any"),
    "memory.kind.turn": ("Реплика", "Turn"),
    "memory.kind.summary": ("Сводка", "Summary"),
    "memory.kind.fact": ("Факт", "Fact"),
    "memory.kind.manual": ("Заметка", "Note"),
    # -- browse and edit
    "memory.pinned_only": ("Только закреплённые", "Pinned only"),
    "memory.contains": ("Текст содержит", "Text contains"),
    "memory.show": ("Показать", "Show"),
    "memory.prev": ("← Назад", "← Previous"),
    "memory.next": ("Вперёд →", "Next →"),
    "memory.page": (
        "Показано {first}–{last} из {total}",
        "Showing {first}–{last} of {total}",
    ),
    "memory.page_empty": ("Воспоминаний нет.", "No memories."),
    "memory.list": ("Воспоминания (нажмите на строку, чтобы изменить)", "Memories (click a row)"),
    "memory.editor_hint": (
        "Выберите воспоминание в таблице, чтобы изменить его.",
        "Select a memory in a table to edit it.",
    ),
    "memory.editor_title": (
        "**Воспоминание №{id}** · {kind} · {created}",
        "**Memory #{id}** · {kind} · {created}",
    ),
    "memory.text": ("Текст", "Text"),
    "memory.importance": ("Важность", "Importance"),
    "memory.pinned": ("Закреплено (всегда вспоминается)", "Pinned (always recalled)"),
    "memory.save": ("Сохранить", "Save"),
    "memory.toggle_pin": ("Закрепить / открепить", "Pin / unpin"),
    "memory.delete": ("Удалить", "Delete"),
    "memory.confirm_delete": ("Да, удалить навсегда", "Yes, delete for good"),
    "memory.saved": ("Воспоминание сохранено.", "Memory saved."),
    "memory.pinned_now": ("Воспоминание закреплено.", "Memory pinned."),
    "memory.unpinned_now": ("Воспоминание откреплено.", "Memory unpinned."),
    "memory.deleted": ("Воспоминание удалено.", "Memory deleted."),
    "memory.no_selection": (
        "Сначала выберите воспоминание в таблице.",
        "Select a memory in a table first.",
    ),
    "memory.confirm_first": (
        "Отметьте «Да, удалить навсегда», чтобы подтвердить удаление.",
        "Tick “Yes, delete for good” to confirm the deletion.",
    ),
    "memory.bad_edit": ("Не получилось сохранить: {detail}", "Could not save: {detail}"),
    # -- add
    "memory.add_text": ("Что запомнить?", "What to remember?"),
    "memory.add_placeholder": (
        "Например: у пользователя кошка по имени Муся",
        "For example: the user has a cat called Mousie",
    ),
    "memory.add_kind": ("Тип", "Kind"),
    "memory.add": ("Запомнить", "Remember"),
    "memory.added": ("Запомнено (№{id}).", "Remembered (#{id})."),
    "memory.empty_text": (
        "Пустое воспоминание: напишите, что запомнить.",
        "The memory is empty: type what to remember.",
    ),
    # -- import and export
    "memory.import_file": (
        "Файл разговора (IKAR JSON, SillyTavern JSONL, список JSON)",
        "Conversation file (IKAR JSON, SillyTavern JSONL, JSON list)",
    ),
    "memory.import_format": ("Формат", "Format"),
    "memory.format.auto": ("Определить автоматически", "Detect automatically"),
    "memory.import_persona": ("Персона разговора", "Conversation persona"),
    "memory.persona_from_file": ("Из файла", "From the file"),
    "memory.import": ("Импортировать", "Import"),
    "memory.import_result": ("Результат импорта", "Import result"),
    "memory.no_file": ("Сначала выберите файл.", "Choose a file first."),
    "memory.imported": (
        "✓ Импортирован разговор **{title}** ({source}): сообщений — {messages}.",
        "✓ Imported the conversation **{title}** ({source}): {messages} messages.",
    ),
    "memory.import_warnings": ("Предупреждения:", "Warnings:"),
    "memory.import_reason.too_large": ("файл слишком большой", "the file is too large"),
    "memory.import_reason.bad_encoding": ("файл не в UTF-8", "the file is not UTF-8 text"),
    "memory.import_reason.invalid_json": ("файл не JSON", "the file is not valid JSON"),
    "memory.import_reason.unknown_format": ("формат не распознан", "unknown format"),
    "memory.import_reason.missing_field": (
        "в файле не хватает поля",
        "a required field is missing",
    ),
    "memory.import_reason.bad_value": ("неверное значение в файле", "a value is invalid"),
    "memory.import_reason.empty": ("файл пустой", "the file is empty"),
    "memory.import_reason.invalid_text": (
        "в тексте есть символ, который нельзя сохранить (нулевой байт, управляющий символ"
        " или половина суррогатной пары)",
        "the text has a character that cannot be stored (a NUL byte, a control character"
        " or half of a surrogate pair)",
    ),
    "memory.import_reason.too_deep": (
        "в файле слишком глубокая вложенность",
        "the file is nested too deeply",
    ),
    "memory.import_reason.bad_time": (
        "в файле невозможная дата (допустимы годы 1–9999)",
        "the file has an impossible date (years 1-9999 are allowed)",
    ),
    "memory.export_memories": ("Скачать воспоминания (JSON)", "Download memories (JSON)"),
    "memory.conversation": ("Разговор", "Conversation"),
    "memory.export_format": ("Формат разговора", "Conversation format"),
    "memory.export_conversation": ("Скачать разговор", "Download conversation"),
    "memory.export_file": ("Файл для скачивания", "File to download"),
    "memory.no_conversation": ("Сначала выберите разговор.", "Choose a conversation first."),
    # -- the profile (core memory)
    "memory.profile": ("Факты профиля", "Profile facts"),
    "memory.profile_hint": (
        "Короткие факты о вас, которые собеседник видит в каждом ответе. Они собираются "
        "сами после каждого сообщения; здесь их можно поправить, закрепить (всегда в "
        "подсказке) или удалить.",
        "Short facts about you that the companion sees with every reply. They are collected "
        "after each message by themselves; here you can correct, pin (always in the prompt) "
        "or delete them.",
    ),
    "memory.fact_text": ("Факт", "Fact"),
    "memory.fact_placeholder": (
        "Например: аллергия на арахис",
        "For example: allergic to peanuts",
    ),
    "memory.fact_kind": ("Тип факта", "Kind of fact"),
    "memory.fact_add": ("Добавить факт", "Add fact"),
    "memory.fact_save": ("Сохранить выбранный", "Save selected"),
    "memory.fact_added": ("Факт добавлен.", "Fact added."),
    "memory.fact_invalid": (
        "Факт должен быть непустым и не длиннее 200 символов.",
        "A fact must be non-empty and at most 200 characters.",
    ),
    "memory.fact_no_selection": (
        "Сначала выберите факт в таблице.",
        "Select a fact in the table first.",
    ),
    "memory.fact.name": ("имя", "name"),
    "memory.fact.person": ("человек", "person"),
    "memory.fact.pet": ("питомец", "pet"),
    "memory.fact.place": ("место", "place"),
    "memory.fact.date": ("дата", "date"),
    "memory.fact.like": ("нравится", "likes"),
    "memory.fact.dislike": ("не нравится", "dislikes"),
    "memory.fact.allergy": ("аллергия", "allergy"),
    "memory.fact.promise": ("обещание", "promise"),
    "memory.fact.other": ("другое", "other"),
    "memory.fact_source.rule": ("из сообщения", "from a message"),
    "memory.fact_source.model": ("модель", "model"),
    "memory.fact_source.manual": ("вы", "you"),
    "memory.stats.reembed": ("Переиндексация с авторами", "Re-embedding with authors"),
    "memory.reembed.running": (
        "идёт: {done} из {total} ({percent}%)",
        "running: {done} of {total} ({percent}%)",
    ),
    "memory.reembed.done": ("готово ({total}, {when})", "done ({total}, {when})"),
    "memory.reembed.idle": ("не требуется", "not needed"),
    "memory.stats.profile": ("Разбор фактов профиля", "Profile fact extraction"),
    "memory.stats.profile_value": ("в очереди {queue}", "{queue} waiting"),
    "memory.schedule_line": (
        "Сама по себе: {mode}; автоматических запусков {runs}, прервано чатом {interrupted}; "
        "последний: {last}.",
        "By itself: {mode}; automatic runs {runs}, interrupted by a chat {interrupted}; "
        "last: {last}.",
    ),
    "memory.schedule.mode.off": ("выключено", "off"),
    "memory.schedule.mode.idle": ("в простое", "in idle time"),
    "memory.schedule.mode.night": ("ночью", "at night"),
    "memory.schedule.mode.idle_or_night": ("в простое или ночью", "in idle time or at night"),
    "memory.schedule.wait.idle": ("Ждёт простоя.", "Waiting for idle time."),
    "memory.schedule.wait.interval": (
        "Недавно запускалась, ждёт интервала.",
        "Ran recently, waiting for the interval.",
    ),
    "memory.schedule.wait.night": ("Ждёт ночного окна.", "Waiting for the night window."),
    "memory.schedule.wait.off": ("Только по кнопке.", "Only by the button."),
    # -- stats and consolidation
    "memory.by_kind": ("Воспоминания по типам", "Memories by kind"),
    "memory.count": ("Количество", "Count"),
    "memory.refresh": ("Обновить", "Refresh"),
    "memory.stats_title": ("Статистика", "Statistics"),
    "memory.stats.total": ("Всего воспоминаний", "Memories in total"),
    "memory.stats.pinned": ("Закреплено", "Pinned"),
    "memory.stats.index": (
        "Поисковый индекс",
        "Search index",
    ),
    "memory.stats.index_value": (
        "{size} векторов ({kind}, {model}), в базе {vectors}",
        "{size} vectors ({kind}, {model}), {vectors} in the database",
    ),
    "memory.stats.consistent": ("✓ согласован с базой", "✓ consistent with the database"),
    "memory.stats.inconsistent": (
        "⚠ расходится с базой (будет перестроен при запуске)",
        "⚠ differs from the database (rebuilt at the next start)",
    ),
    "memory.stats.pending": ("Ждут векторизации", "Waiting to be embedded"),
    "memory.stats.embedder": ("Модель эмбеддингов", "Embedding model"),
    "memory.stats.last_consolidation": ("Последняя оптимизация", "Last consolidation"),
    "memory.never": ("ещё не было", "never"),
    "memory.consolidation": ("Оптимизация памяти", "Memory consolidation"),
    "memory.consolidation_hint": (
        "Сводки старых разговоров, слияние дублей, угасание неважного. Идёт в фоне сама, "
        "в простое или ночью (настройка IKAR_MEMORY__SCHEDULE__MODE); кнопка запускает сейчас.",
        "Summaries of old conversations, merging duplicates, fading unimportant items. "
        "Runs in the background by itself, in idle time or at night (setting "
        "IKAR_MEMORY__SCHEDULE__MODE); the button starts it now.",
    ),
    "memory.consolidate": ("Запустить оптимизацию", "Start consolidation"),
    "memory.cancel_consolidation": ("Остановить", "Cancel"),
    "memory.consolidation_started": ("Оптимизация запущена.", "Consolidation started."),
    "memory.consolidation_busy": (
        "Оптимизация уже идёт.",
        "Consolidation is already running.",
    ),
    "memory.consolidation_cancelled": ("Оптимизация останавливается.", "Consolidation stopping."),
    "memory.consolidation_not_running": (
        "Оптимизация сейчас не идёт.",
        "Consolidation is not running.",
    ),
    "memory.cstate.idle": ("не идёт", "idle"),
    "memory.cstate.running": ("идёт", "running"),
    "memory.cstate.cancelling": ("останавливается", "cancelling"),
    "memory.consolidation_line": (
        "**Оптимизация:** {state}. Окон: {windows}, сводок: {summaries}, "
        "слито дублей: {merged}, угасло: {decayed}.",
        "**Consolidation:** {state}. Windows: {windows}, summaries: {summaries}, "
        "duplicates merged: {merged}, faded: {decayed}.",
    ),
    "memory.consolidation_result": ("Итог: {result}", "Result: {result}"),
    "memory.consolidation_error": ("Ошибка: {error}", "Error: {error}"),
}
