"""Security messages: (Russian, English) by key. Keys start with "security."."""

MESSAGES: dict[str, tuple[str, str]] = {
    "security.admin_disabled": (
        "Доступ администратора отключён: токен администратора не настроен.",
        "Admin access is disabled: no admin token is configured.",
    ),
    "security.admin_unauthorized": (
        "Нужен действующий токен администратора.",
        "A valid admin token is required.",
    ),
    "security.admin_locked_out": (
        "Слишком много неудачных попыток. Повторите позже.",
        "Too many failed attempts. Try again later.",
    ),
    "security.login_locked_out": (
        "Слишком много неверных паролей. Вход временно заблокирован, попробуйте позже.",
        "Too many wrong passwords. Signing in is blocked for a while; try again later.",
    ),
    "security.rate_limited": (
        "Слишком много запросов. Повторите позже.",
        "Too many requests. Try again later.",
    ),
    "security.payload_too_large": (
        "Тело запроса слишком большое.",
        "The request body is too large.",
    ),
    "security.unauthorized": ("Требуется аутентификация.", "Authentication is required."),
    "security.bad_length": (
        "Неверный заголовок Content-Length.",
        "The Content-Length header is invalid.",
    ),
    "security.forbidden": ("Доступ запрещён.", "Access denied."),
    "security.user_mismatch": (
        "user_id не совпадает с владельцем токена.",
        "user_id does not match your token.",
    ),
}
