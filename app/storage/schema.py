"""Core tables: users, conversations, messages. Other components migrate their own tables."""

CORE_MIGRATIONS: list[str] = [
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        password_hash TEXT,
        api_token_hash TEXT,
        is_admin INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        persona_id TEXT,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX conversations_by_user ON conversations(user_id, updated_at DESC);
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        author TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at REAL NOT NULL,
        persona_id TEXT,
        model TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        meta TEXT NOT NULL DEFAULT '{}'
    );
    CREATE UNIQUE INDEX messages_by_conversation ON messages(conversation_id, seq);
    """,
]
