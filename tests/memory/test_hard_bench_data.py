"""The committed hard memory set is what its generator makes, and has the promised shape."""

from __future__ import annotations

import json
from collections import Counter

from bench.gen_memory_hard import OUT, generate


def test_committed_set_is_reproducible_and_well_formed() -> None:
    data = generate()
    assert json.loads(OUT.read_text("utf-8")) == json.loads(json.dumps(data, ensure_ascii=False))
    convs = data["conversations"]
    assert len(convs) >= 5 and {c["lang"] for c in convs} == {"en", "ru"}
    ids = set()
    for c in convs:
        assert len(c["messages"]) >= 300
        assert len({m["session"] for m in c["messages"]}) >= 10
        days = (c["messages"][-1]["created_at"] - c["messages"][0]["created_at"]) / 86400
        assert days > 120  # several sessions over months
        ids |= {m["id"] for m in c["messages"]}
    questions = data["questions"]
    assert len(questions) >= 300
    assert all(q["evidence"] and set(q["evidence"]) <= ids for q in questions)
    categories = Counter(q["category"] for q in questions)
    for needed in ("single_fact", "who_said", "temporal", "multi_hop", "companion_promise"):
        assert categories[needed] >= 10, categories
    # questions are not copies of their evidence
    texts = {m["id"]: m["text"] for c in convs for m in c["messages"]}
    assert all(q["question"] not in texts[e] for q in questions for e in q["evidence"])
