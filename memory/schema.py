"""The memory component's tables, applied with `db.migrate("memory", MEMORY_MIGRATIONS)`.

`memories` is the source of truth, including each row's vector (`embedding`, float32 bytes)
and the model that made it: the FAISS index is derived and can be rebuilt from these BLOBs
without re-embedding (1.5 KB per row at 384 dims, ~150 MB per 100k memories). `memories_fts`
is an external-content FTS5 table kept in sync by triggers, so every write path (insert,
update, delete, merge) keeps keyword search right inside the same transaction.

Version 2 adds `author` (who said a turn: the user's name, the persona's name or an imported
speaker) and indexes it beside the text, so "what did Anna say" finds Anna's turns. Rows
stored before it get their author and a new vector from the start-up migration
(`memory.reembed`), not from this script: the names live in other components' tables.
"""

MEMORY_MIGRATIONS: list[str] = [
    """
    CREATE TABLE memories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        persona_id TEXT,
        conversation_id TEXT,
        message_id TEXT,
        role TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('turn', 'summary', 'fact', 'manual')),
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        importance REAL NOT NULL DEFAULT 0.5,
        pinned INTEGER NOT NULL DEFAULT 0,
        source_message_ids TEXT NOT NULL DEFAULT '[]',
        chunk_index INTEGER NOT NULL DEFAULT 0,
        chunk_count INTEGER NOT NULL DEFAULT 1,
        embedding_model TEXT,
        embedding BLOB
    );
    CREATE INDEX memories_by_user ON memories(user_id, persona_id, created_at);
    CREATE INDEX memories_by_conversation ON memories(conversation_id, created_at, id);
    CREATE INDEX memories_by_message ON memories(message_id);
    CREATE INDEX memories_pending ON memories(embedding_model);
    CREATE INDEX memories_pinned ON memories(user_id, pinned) WHERE pinned = 1;
    CREATE VIRTUAL TABLE memories_fts USING fts5(
        text, content='memories', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER memories_au AFTER UPDATE OF text ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TABLE memory_consolidation_windows (
        conversation_id TEXT NOT NULL,
        window_index INTEGER NOT NULL,
        summary_memory_id INTEGER,
        done_at REAL NOT NULL,
        PRIMARY KEY (conversation_id, window_index)
    );
    CREATE TABLE memory_jobs (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        started_at REAL,
        finished_at REAL,
        cursor TEXT NOT NULL DEFAULT '{}',
        result TEXT,
        error TEXT
    );
    """,
    """
    ALTER TABLE memories ADD COLUMN author TEXT;
    DROP TRIGGER memories_ai;
    DROP TRIGGER memories_ad;
    DROP TRIGGER memories_au;
    DROP TABLE memories_fts;
    CREATE VIRTUAL TABLE memories_fts USING fts5(
        author, text, content='memories', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, author, text) VALUES (new.id, new.author, new.text);
    END;
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, author, text)
        VALUES ('delete', old.id, old.author, old.text);
    END;
    CREATE TRIGGER memories_au AFTER UPDATE OF text, author ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, author, text)
        VALUES ('delete', old.id, old.author, old.text);
        INSERT INTO memories_fts(rowid, author, text) VALUES (new.id, new.author, new.text);
    END;
    INSERT INTO memories_fts(memories_fts) VALUES ('rebuild');
    """,
]
