"""Message catalogues by area; `app.i18n` merges them."""
