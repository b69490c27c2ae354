"""Media messages: (Russian, English) by key. Keys start with "media."."""

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
}
