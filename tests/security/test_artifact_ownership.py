"""Item 13: who may fetch an artifact is decided by its exact key, never by a substring.

An imported message's id is chosen by the importer; naming it after someone else's artifact
key must not hand that artifact over.
"""

import json

from tests.security.conftest import Accounts


def test_an_imported_message_named_after_an_artifact_does_not_grant_it(
    accounts: Accounts,
) -> None:
    client = accounts.client
    reply = client.post(
        "/api/chat", json={"message": "say something"}, headers=accounts.headers("alice")
    ).json()
    key = reply["media"][0]["key"]
    assert client.get(f"/api/artifacts/{key}", headers=accounts.headers("alice")).status_code == 200

    doc = {
        "format": "ikar.conversation",
        "version": 1,
        "conversation": {"title": "mine"},
        "messages": [
            {"id": key, "role": "user", "content": key, "author": key, "created_at": 1_700_000_000}
        ],
    }
    imported = client.post(
        "/api/conversations/import",
        files={"file": ("chat.json", json.dumps(doc).encode(), "application/json")},
        headers=accounts.headers("bob"),
    )
    assert imported.status_code == 201, imported.text
    response = client.get(f"/api/artifacts/{key}", headers=accounts.headers("bob"))
    assert response.status_code == 404, response.status_code


def test_the_owner_still_gets_the_artifacts_shown_in_their_messages(accounts: Accounts) -> None:
    client = accounts.client
    alice = accounts.headers("alice")
    reply = client.post("/api/chat", json={"message": "hello"}, headers=alice).json()
    messages = client.get(f"/api/conversations/{reply['conversation_id']}/messages", headers=alice)
    shown = [m["meta"].get("media") for m in messages.json()["items"] if m["role"] == "assistant"]
    key = shown[-1][0]["key"]
    assert client.get(f"/api/artifacts/{key}", headers=alice).status_code == 200
