"""Admin messages: (Russian, English) by key. Keys start with "admin."."""

MESSAGES: dict[str, tuple[str, str]] = {
    # notices and the token
    "admin.disabled_notice": (
        "**Админка отключена.** Чтобы включить её, задайте секретный токен длиной от 16 "
        "символов в переменной окружения `IKAR_ADMIN_TOKEN` и перезапустите ИКАР, например: "
        "`IKAR_ADMIN_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe())')`.",
        "**Admin is disabled.** To enable it, set a secret token of 16+ characters in the "
        "`IKAR_ADMIN_TOKEN` environment variable and restart IKAR, for example: "
        "`IKAR_ADMIN_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe())')`.",
    ),
    "admin.hint": (
        "Введите токен администратора (`IKAR_ADMIN_TOKEN`) и нажмите «Открыть». "
        "Каждое действие проверяет токен заново.",
        "Enter the admin token (`IKAR_ADMIN_TOKEN`) and press Open. "
        "Every action checks the token again.",
    ),
    "admin.token": ("Токен администратора", "Admin token"),
    "admin.token_placeholder": ("IKAR_ADMIN_TOKEN", "IKAR_ADMIN_TOKEN"),
    "admin.open": ("Открыть", "Open"),
    "admin.signed_in": ("Токен принят.", "Token accepted."),
    "admin.denied.admin_disabled": (
        "Админка отключена: задайте IKAR_ADMIN_TOKEN и перезапустите ИКАР.",
        "Admin is disabled: set IKAR_ADMIN_TOKEN and restart IKAR.",
    ),
    "admin.denied.admin_unauthorized": (
        "Неверный или пустой токен администратора.",
        "The admin token is missing or wrong.",
    ),
    "admin.denied.admin_locked_out": (
        "Слишком много неверных попыток: вход временно заблокирован.",
        "Too many wrong tokens: admin access is locked for a while.",
    ),
    "admin.denied.forbidden": ("Доступ запрещён.", "Access denied."),
    # sections
    "admin.section.users": ("Пользователи", "Users"),
    "admin.section.prompts": ("Промпты и персона", "Prompts and persona"),
    "admin.section.models": ("Модели", "Models"),
    "admin.section.jobs": ("Задачи и память", "Jobs and memory"),
    "admin.section.metrics": ("Метрики", "Metrics"),
    "admin.section.logs": ("Журнал", "Logs"),
    "admin.section.backup": ("Резервная копия", "Backup"),
    "admin.section.config": ("Настройки", "Config"),
    # controls
    "admin.refresh": ("Обновить", "Refresh"),
    "admin.done": ("Готово.", "Done."),
    "admin.user_id": ("ID пользователя", "User id"),
    "admin.confirm_delete": ("Да, удалить все данные", "Yes, delete all their data"),
    "admin.export_user": ("Экспорт (JSON)", "Export (JSON)"),
    "admin.delete_user": ("Удалить пользователя", "Delete user"),
    "admin.export_file": ("Файл экспорта", "Export file"),
    "admin.exported": ("Экспорт готов.", "Export ready."),
    "admin.deleted": ("Пользователь удалён", "User deleted"),
    "admin.confirm_first": ("Сначала поставьте галочку подтверждения.", "Tick the box first."),
    "admin.template": ("Шаблон", "Template"),
    "admin.template_text": ("Текст шаблона (Jinja2)", "Template text (Jinja2)"),
    "admin.save": ("Сохранить", "Save"),
    "admin.saved": ("Сохранено", "Saved"),
    "admin.default_persona": ("Персона новых чатов", "Persona of new chats"),
    "admin.set_default": ("Сделать по умолчанию", "Make default"),
    "admin.persona_now": (
        "Сейчас: **{persona}** (в настройках: {configured})",
        "Now: **{persona}** (configured: {configured})",
    ),
    "admin.model": ("Модель", "Model"),
    "admin.load": ("Загрузить", "Load"),
    "admin.unload": ("Выгрузить", "Unload"),
    "admin.job_id": ("ID задачи", "Job id"),
    "admin.cancel_job": ("Отменить задачу", "Cancel job"),
    "admin.job_cancelled": ("Задача отменена.", "Job cancelled."),
    "admin.job_not_live": ("Задача уже завершена или не найдена.", "No such live job."),
    "admin.no_jobs": ("Очередей нет.", "No queues."),
    "admin.consolidation_user": (
        "Пользователь для консолидации (пусто — все)",
        "Consolidate one user (empty: all)",
    ),
    "admin.consolidate": ("Консолидировать память", "Consolidate memory"),
    "admin.consolidate_cancel": ("Остановить консолидацию", "Stop consolidation"),
    "admin.consolidation": ("Консолидация памяти", "Memory consolidation"),
    "admin.llm_outcomes": ("Вызовы LLM по итогам", "LLM calls by outcome"),
    "admin.latency": ("Задержки, с (p50 / p95)", "Latency, s (p50 / p95)"),
    "admin.metrics_summary": ("Сводка метрик", "Metrics summary"),
    "admin.log_level": ("Уровень не ниже", "Minimum level"),
    "admin.log_logger": ("Логгер", "Logger"),
    "admin.log_text": ("Текст", "Text"),
    "admin.log_request": ("ID запроса", "Request id"),
    "admin.log_limit": ("Строк", "Lines"),
    "admin.backup": ("Сделать резервную копию", "Create a backup"),
    "admin.backup_file": ("Резервная копия (SQLite)", "Backup (SQLite)"),
    "admin.backup_ready": ("Копия готова", "Backup ready"),
    "admin.restore_file": ("Файл для восстановления", "File to restore"),
    "admin.confirm_restore": (
        "Да, заменить текущие данные (копия текущих будет сохранена)",
        "Yes, replace the current data (a copy of it is kept)",
    ),
    "admin.restore": ("Восстановить", "Restore"),
    "admin.restore_pick_file": ("Сначала выберите файл.", "Pick a file first."),
    "admin.restored": (
        "Восстановлено: пользователей {users}; прежние данные сохранены в {backup}.",
        "Restored: {users} users; the previous data was saved as {backup}.",
    ),
    # errors (AdminError keys; the API code is the last part)
    "admin.error.user_not_found": ("Пользователь {user} не найден.", "User {user} not found."),
    "admin.error.bad_template_name": (
        "Недопустимое имя шаблона: {name}",
        "Not a valid template name: {name}",
    ),
    "admin.error.template_not_found": ("Шаблон {name} не найден.", "Template {name} not found."),
    "admin.error.template_too_long": (
        "Шаблон слишком длинный (больше {limit} символов).",
        "The template is too long (over {limit} characters).",
    ),
    "admin.error.template_invalid": (
        "Ошибка Jinja2 в строке {line}: {detail}. Шаблон не сохранён.",
        "Jinja2 error on line {line}: {detail}. The template was not saved.",
    ),
    "admin.error.model_not_found": (
        "Профиль модели {model} не найден.",
        "Model profile {model} not found.",
    ),
    "admin.error.model_load_failed": (
        "Модель не загрузилась: {detail}",
        "The model failed to load: {detail}",
    ),
    "admin.error.media_unavailable": (
        "Медиа (очереди задач) недоступны в этой сборке.",
        "Media (job queues) are not available in this build.",
    ),
    "admin.error.memory_unavailable": (
        "Долгая память недоступна в этой сборке.",
        "Long-term memory is not available in this build.",
    ),
    "admin.error.bad_action": ("Неизвестное действие: {action}", "Unknown action: {action}"),
    "admin.error.bad_level": ("Неизвестный уровень: {level}", "Unknown log level: {level}"),
    "admin.error.not_sqlite": (
        "Это не файл базы SQLite. Данные не изменены.",
        "This is not a SQLite database file. Nothing was changed.",
    ),
    "admin.error.backup_corrupt": (
        "Файл базы повреждён ({detail}). Данные не изменены.",
        "The database file is damaged ({detail}). Nothing was changed.",
    ),
    "admin.error.backup_schema": (
        "В файле нет таблиц ИКАР ({missing}). Данные не изменены.",
        "The file lacks IKAR's tables ({missing}). Nothing was changed.",
    ),
    "admin.error.backup_version": (
        "Схема файла не совпадает с этой версией ИКАР ({detail}). Данные не изменены.",
        "The file's schema does not match this IKAR version ({detail}). Nothing was changed.",
    ),
    # table headers and yes/no cells
    "admin.col.id": ("ID", "ID"),
    "admin.col.name": ("Имя", "Name"),
    "admin.col.conversations": ("Разговоры", "Conversations"),
    "admin.col.messages": ("Сообщения", "Messages"),
    "admin.col.souls": ("Души", "Souls"),
    "admin.col.memories": ("Воспоминания", "Memories"),
    "admin.col.has_password": ("Пароль", "Password"),
    "admin.col.label": ("Модель", "Model"),
    "admin.col.state": ("Состояние", "State"),
    "admin.col.active": ("Активна", "Active"),
    "admin.col.configured_default": ("По умолчанию", "Default"),
    "admin.col.detail": ("Подробности", "Details"),
    "admin.col.kind": ("Вид", "Kind"),
    "admin.col.progress": ("Прогресс", "Progress"),
    "admin.col.description": ("Описание", "Description"),
    "admin.col.wait_s": ("Ждала, с", "Waited, s"),
    "admin.col.run_s": ("Шла, с", "Ran, s"),
    "admin.col.error": ("Ошибка", "Error"),
    "admin.col.timestamp": ("Время", "Time"),
    "admin.col.level": ("Уровень", "Level"),
    "admin.col.logger": ("Источник", "Logger"),
    "admin.col.request_id": ("Запрос", "Request"),
    "admin.col.message": ("Сообщение", "Message"),
    "admin.yes": ("да", "yes"),
    "admin.no": ("нет", "no"),
}
