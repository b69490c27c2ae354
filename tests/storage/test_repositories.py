from pathlib import Path

import pytest

from app.storage.database import Database
from app.storage.repositories import (
    ConversationRepository,
    MessageRepository,
    NotFoundError,
    UserRepository,
    migrate_core,
)


@pytest.fixture
def repos(tmp_path: Path) -> tuple[UserRepository, ConversationRepository, MessageRepository]:
    db = Database(tmp_path / "core.sqlite3")
    migrate_core(db)
    return UserRepository(db), ConversationRepository(db), MessageRepository(db)


def test_messages_keep_order_ids_and_usage(repos) -> None:  # type: ignore[no-untyped-def]
    users, convs, msgs = repos
    users.get_or_create("alice")
    conv = convs.create("alice", "Hello")
    m1 = msgs.add(conv.id, "alice", "user", "alice", "hi", created_at=100.0)
    m2 = msgs.add(
        conv.id,
        "alice",
        "assistant",
        "bot",
        "hello",
        model="tiny",
        prompt_tokens=10,
        completion_tokens=3,
        meta={"reaction": "playful"},
    )
    listed = msgs.list("alice", conv.id)
    assert [m.id for m in listed] == [m1.id, m2.id]
    assert [m.seq for m in listed] == [1, 2]
    assert listed[0].created_at == 100.0
    assert listed[1].model == "tiny" and listed[1].completion_tokens == 3
    assert listed[1].meta == {"reaction": "playful"}
    assert msgs.list("alice", conv.id, limit=1)[0].id == m2.id
    assert convs.get("alice", conv.id).message_count == 2


def test_users_cannot_see_or_touch_each_others_conversations(repos) -> None:  # type: ignore[no-untyped-def]
    users, convs, msgs = repos
    users.get_or_create("alice")
    users.get_or_create("bob")
    conv = convs.create("alice", "secret")
    msgs.add(conv.id, "alice", "user", "alice", "my secret")
    assert convs.list("bob") == []
    assert msgs.list("bob", conv.id) == []
    with pytest.raises(NotFoundError):
        convs.get("bob", conv.id)
    with pytest.raises(NotFoundError):
        msgs.add(conv.id, "bob", "user", "bob", "intrude")
    with pytest.raises(NotFoundError):
        convs.rename("bob", conv.id, "mine")
    with pytest.raises(NotFoundError):
        convs.delete("bob", conv.id)
    assert msgs.delete_from("bob", conv.id, 1) == 0
    assert len(msgs.list("alice", conv.id)) == 1


def test_delete_conversation_cascades_and_delete_from_trims(repos) -> None:  # type: ignore[no-untyped-def]
    users, convs, msgs = repos
    users.get_or_create("alice")
    conv = convs.create("alice", "t")
    for i in range(4):
        msgs.add(conv.id, "alice", "user" if i % 2 == 0 else "assistant", "a", f"m{i}")
    assert msgs.delete_from("alice", conv.id, 3) == 2
    assert [m.content for m in msgs.list("alice", conv.id)] == ["m0", "m1"]
    convs.delete("alice", conv.id)
    assert msgs.count_for_user("alice") == 0


def test_data_survives_reopen(tmp_path: Path) -> None:
    db = Database(tmp_path / "core.sqlite3")
    migrate_core(db)
    UserRepository(db).get_or_create("alice")
    conv = ConversationRepository(db).create("alice", "kept")
    MessageRepository(db).add(conv.id, "alice", "user", "alice", "remember me")
    db.close()
    db2 = Database(tmp_path / "core.sqlite3")
    migrate_core(db2)
    assert MessageRepository(db2).list("alice", conv.id)[0].content == "remember me"
