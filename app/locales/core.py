"""Core UI and error messages: (Russian, English) by key."""

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (ru, en)
    "app.title": ("ИКАР — Чатумба", "IKAR — Chatumba"),
    "app.language": ("Язык", "Language"),
    "tab.chat": ("Чат", "Chat"),
    "tab.soul": ("Душа", "Soul"),
    "tab.memory": ("Память", "Memory"),
    "tab.admin": ("Админ", "Admin"),
    "chat.input": ("Сообщение", "Message"),
    "chat.placeholder": (
        "Напишите что-нибудь… (Enter — отправить)",
        "Type a message… (Enter to send)",
    ),
    "chat.send": ("Отправить", "Send"),
    "chat.stop": ("Стоп", "Stop"),
    "chat.regenerate": ("Переписать ответ", "Regenerate"),
    "chat.edit_last": ("Изменить последнее", "Edit last message"),
    "chat.new": ("Новый разговор", "New conversation"),
    "chat.rename": ("Переименовать", "Rename"),
    "chat.delete": ("Удалить", "Delete"),
    "chat.conversations": ("Разговоры", "Conversations"),
    "chat.title": ("Название", "Title"),
    "chat.persona": ("Персона", "Persona"),
    "chat.model_status": ("Модель", "Model"),
    "chat.loading_model": (
        "Загружаю модель… (первый запуск собирает её из пакетов)",
        "Loading the model… (the first start assembles it from packages)",
    ),
    "chat.thinking": ("Думаю…", "Thinking…"),
    "chat.stopped": ("(остановлено)", "(stopped)"),
    "chat.deleted": ("Разговор удалён", "Conversation deleted"),
    "chat.empty_history": (
        "Здесь пока пусто. Напишите первое сообщение!",
        "Nothing here yet. Send the first message!",
    ),
    "error.empty_message": (
        "Пустое сообщение: напишите хоть что-нибудь.",
        "The message is empty: type something first.",
    ),
    "error.message_too_long": (
        "Сообщение слишком длинное (больше {limit} символов).",
        "The message is too long (over {limit} characters).",
    ),
    "error.conversation_not_found": ("Разговор не найден.", "Conversation not found."),
    "error.nothing_to_regenerate": (
        "Нечего переписывать: в разговоре нет сообщений.",
        "Nothing to regenerate: the conversation has no messages.",
    ),
    "error.nothing_to_edit": (
        "Нечего менять: в разговоре нет ваших сообщений.",
        "Nothing to edit: you have not written anything here yet.",
    ),
    "error.llm_timeout": (
        "Модель не ответила вовремя. Попробуйте ещё раз или короче.",
        "The model did not answer in time. Try again or shorter.",
    ),
    "error.model_unavailable": (
        "Модель недоступна: {detail}",
        "The model is unavailable: {detail}",
    ),
    "error.prompt_too_long": (
        "Запрос не помещается в контекст модели.",
        "The request does not fit into the model's context.",
    ),
    "error.llm_failed": ("Модель выдала ошибку: {detail}", "The model failed: {detail}"),
    "error.invalid_request": ("Неверный запрос: {detail}", "Invalid request: {detail}"),
    "error.internal": (
        "Внутренняя ошибка. Данные сохранены; попробуйте ещё раз.",
        "Internal error. Your data is safe; please try again.",
    ),
    "error.too_large": (
        "Слишком большой запрос (больше {limit} байт).",
        "Request too large (over {limit} bytes).",
    ),
    "error.not_found": ("Не найдено.", "Not found."),
    "error.import_failed": (
        "Не удалось импортировать ({code}): {detail}",
        "Import failed ({code}): {detail}",
    ),
    "error.memory_not_found": ("Воспоминание не найдено.", "Memory not found."),
    "error.media_failed": ("Не получилось: {detail}", "Could not do it: {detail}"),
    "error.file_too_large": (
        "Файл слишком большой (больше {limit} байт).",
        "The file is too large (over {limit} bytes).",
    ),
}
