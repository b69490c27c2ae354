"""Core UI and error messages: (Russian, English) by key."""

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (ru, en)
    "app.title": ("ИКАР — Чатумба", "IKAR — Chatumba"),
    "app.name": ("ИКАР", "IKAR"),
    "app.language": ("Язык", "Language"),
    "toast.warning": ("Внимание", "Warning"),
    "toast.info": ("Сообщение", "Note"),
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
    "chat.still_loading": (
        "Страница ещё загружается — сообщение осталось в поле, отправьте его через секунду.",
        "The page is still loading: your message stays in the box, send it in a moment.",
    ),
    "chat.stop": ("Стоп", "Stop"),
    "chat.queue": ("В очередь", "Queue"),
    "chat.you": ("друг", "friend"),
    "chat.persona_switched": (
        "— дальше разговор ведёт {name} —",
        "— {name} takes over the conversation —",
    ),
    "chat.writing": (
        "читает ваше сообщение и пишет ответ… {s} с",
        "reading your message, writing… {s} s",
    ),
    "chat.queued": (
        "Сообщение в очереди: отправлю его, как только допишу ответ (Стоп — прервать ответ).",
        "Your message is queued: it is sent as soon as the reply is finished"
        " (Stop cuts the reply short).",
    ),
    "chat.regenerate": ("Переписать ответ", "Regenerate"),
    "chat.edit_last": ("Изменить последнее", "Edit last message"),
    "chat.new": ("Новый разговор", "New conversation"),
    "chat.rename": ("Переименовать", "Rename"),
    "chat.delete": ("Удалить", "Delete"),
    "chat.delete_confirm": ("Точно удалить?", "Delete for good?"),
    "chat.delete_confirm_hint": (
        "Разговор удалится насовсем. Нажмите «Точно удалить?», чтобы подтвердить.",
        "The conversation will be gone for good. Press “Delete for good?” to confirm.",
    ),
    "chat.conversations": ("Разговоры", "Conversations"),
    "chat.title": ("Название", "Title"),
    "chat.persona": ("Персона", "Persona"),
    "chat.model_status": ("Модель", "Model"),
    "chat.loading_model": (
        "Загружаю модель… (первый запуск собирает её из пакетов)",
        "Loading the model… (the first start assembles it from packages)",
    ),
    "chat.state.ready": ("готова", "ready"),
    "chat.state.loading": ("загружается", "loading"),
    "chat.state.failed": ("ошибка", "failed"),
    "chat.state.unloaded": (
        "не загружена (загрузится с первым сообщением)",
        "not loaded yet (loads with the first message)",
    ),
    "chat.thinking": ("Думаю…", "Thinking…"),
    "chat.stopped": ("(остановлено)", "(stopped)"),
    "chat.cut_short": ("(ответ прерван)", "(reply cut short)"),
    "chat.no_reply": (
        "(ответа нет: модель не справилась — «Переписать ответ» попробует снова)",
        "(no reply: the model failed — Regenerate tries again)",
    ),
    "chat.deleted": ("Разговор удалён", "Conversation deleted"),
    "chat.empty_history": (
        "Здесь пока пусто. Напишите первое сообщение!",
        "Nothing here yet. Send the first message!",
    ),
    "chat.not_an_image": (
        "Это не картинка. Прикрепите файл PNG, JPEG, WebP, BMP, GIF или TIFF.",
        "This is not an image. Attach a PNG, JPEG, WebP, BMP, GIF or TIFF file.",
    ),
    "chat.attach_image": ("Картинка (текст с неё прочитаю)", "Image (I will read its text)"),
    "chat.attachment_text": ("Текст с картинки", "Text from the image"),
    "chat.reading_image": ("Читаю текст на картинке…", "Reading the text in the image…"),
    "chat.remembered": ("Вспомнилось", "Remembered"),
    "chat.wrote_first": ("написала сама, без вашего сообщения", "wrote first, unprompted"),
    "chat.media_failed": ("Не вышло сделать медиа", "Media could not be made"),
    "chat.image_not_set_up": (
        "Рисование не настроено. Чтобы включить: "
        "IKAR_MEDIA__IMAGE__MODEL=<папка модели diffusers>.",
        "Drawing is not set up. To turn it on: "
        "IKAR_MEDIA__IMAGE__MODEL=<a diffusers model folder>.",
    ),
    "chat.speak_replies": ("Озвучивать ответы", "Speak replies"),
    "chat.voice_out": (
        "Голос (нажмите на ответ, чтобы прослушать)",
        "Voice (click a reply to hear it)",
    ),
    "chat.mic": ("Сказать голосом", "Say it aloud"),
    "chat.transcribing": ("Расшифровываю речь…", "Transcribing…"),
    "chat.draw": ("Нарисовать", "Draw a picture"),
    "chat.draw_prompt": ("Что нарисовать", "What to draw"),
    "chat.draw_negative": ("Чего избегать", "What to avoid"),
    "chat.draw_width": ("Ширина", "Width"),
    "chat.draw_height": ("Высота", "Height"),
    "chat.draw_steps": ("Шаги", "Steps"),
    "chat.draw_seed": ("Зерно (0 — случайное)", "Seed (0 = random)"),
    "chat.draw_button": ("Нарисовать", "Draw"),
    "chat.gallery": ("Галерея", "Gallery"),
    "chat.drawing": ("Рисую…", "Drawing…"),
    "chat.media_tools": ("Голос, картинки, рисование", "Voice, images, drawing"),
    "error.session_invalid": (
        "Сессия недействительна: обновите страницу.",
        "Invalid session: please reload the page.",
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
    "error.cancelled": ("Генерация остановлена.", "The generation was stopped."),
    "error.queue_full": (
        "Модель занята: в очереди уже {waiting} запросов. Повторите чуть позже.",
        "The model is busy: {waiting} requests are already waiting. Try again shortly.",
    ),
    "chat.controls": ("Разговоры и настройки", "Conversations and settings"),
    "chat.still_writing": (
        "ещё пишет… {s} с (ответ появится здесь целиком, когда будет готов)",
        "still writing… {s} s (the whole reply shows here when it is done)",
    ),
    "chat.queue_position": (
        "В очереди к модели: {position}-й",
        "Waiting for the model: number {position} in line",
    ),
    "error.invalid_request": ("Неверный запрос: {detail}", "Invalid request: {detail}"),
    "error.invalid_text": (
        "В тексте ({field}) есть символ, который нельзя сохранить: {char} на позиции"
        " {position} (нулевой байт, управляющий символ или половина суррогатной пары)."
        " Уберите его и попробуйте ещё раз.",
        "The text ({field}) has a character that cannot be stored: {char} at position"
        " {position} (a NUL byte, a control character or half of a surrogate pair)."
        " Remove it and try again.",
    ),
    "error.internal": (
        "Внутренняя ошибка. Данные сохранены; попробуйте ещё раз.",
        "Internal error. Your data is safe; please try again.",
    ),
    "error.too_large": (
        "Слишком большой запрос (больше {limit} байт).",
        "Request too large (over {limit} bytes).",
    ),
    "error.not_found": ("Не найдено.", "Not found."),
    "error.invalid_user_id": (
        "user_id: от 1 до 64 символов A-Z a-z 0-9 _ . @ -",
        "user_id: 1-64 of A-Z a-z 0-9 _ . @ -",
    ),
    "error.http": ("Запрос отклонён ({status}): {detail}", "Request refused ({status}): {detail}"),
    "error.import_failed": (
        "Не удалось импортировать: {reason} ({detail})",
        "Import failed: {reason} ({detail})",
    ),
    "error.memory_not_found": ("Воспоминание не найдено.", "Memory not found."),
    "error.profile_fact_not_found": ("Факт профиля не найден.", "Profile fact not found."),
    "error.media_failed": ("Не получилось: {detail}", "Could not do it: {detail}"),
    "error.upload_refused": (
        "Этот файл не был загружен через страницу; загрузите его ещё раз.",
        "This file was not uploaded through the page; please upload it again.",
    ),
    "error.file_too_large": (
        "Файл слишком большой (больше {limit} байт).",
        "The file is too large (over {limit} bytes).",
    ),
}
