"""Dead letters: the entry format, requeue and drop, and ``manage.py arq_dead_letters``."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from arq_django.ingest import dead_letters
from arq_django.keys import SourceKeys

KEYS = SourceKeys("async_tasks")


def test_entries_keep_the_raw_message_even_when_it_is_not_text():
    for raw in (b'{"type": 1}', b"\xff\x00binary"):
        letter = dead_letters.decode(dead_letters.encode(raw, "why", "async_tasks", "c1"), "async_tasks")
        assert (letter.message, letter.reason, letter.consumer) == (raw, "why", "c1")
        assert letter.source == "async_tasks"
        assert letter.at is not None
    entry = json.loads(dead_letters.encode(b"\xff", "why", "async_tasks"))
    assert entry["encoding"] == "base64" and entry["message"] == "/w=="


def test_a_foreign_entry_is_shown_not_hidden():
    letter = dead_letters.decode(b"pushed here by hand", "async_tasks")
    assert letter.message == b"pushed here by hand" and "unreadable" in letter.reason


@pytest.mark.integration
def test_requeue_pushes_messages_back_once_and_drop_deletes(redis_client):
    for raw in (b"one", b"two", b"two"):
        redis_client.lpush(KEYS.dead, dead_letters.encode(raw, "bad", KEYS.source))
    letters = dead_letters.dead_letters(KEYS.source)
    assert [letter.message for letter in letters] == [b"one", b"two", b"two"]
    assert dead_letters.requeue(letters[0]) and not dead_letters.requeue(letters[0])
    assert redis_client.lrange(KEYS.source, 0, -1) == [b"one"]
    assert dead_letters.drop(letters[1]) and dead_letters.dead_letter_count(KEYS.source) == 1


@pytest.mark.integration
def test_command_lists_requeues_and_drops(redis_client, capsys):
    for raw in (b"{oops", b"\xfe"):
        redis_client.lpush(KEYS.dead, dead_letters.encode(raw, f"reason for {raw!r}", KEYS.source))
    call_command("arq_dead_letters")
    out = capsys.readouterr().out
    assert "reason for b'{oops'" in out and "utf-8: {oops" in out and "base64: /g==" in out
    assert "async_tasks:dead holds 2 messages" in out

    call_command("arq_dead_letters", "--key", "async_tasks", "--json", "--limit", "1")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["message"] == "{oops"

    call_command("arq_dead_letters", "--requeue", "--limit", "1")
    assert "1 of 1 messages pushed back" in capsys.readouterr().out
    assert redis_client.lrange(KEYS.source, 0, -1) == [b"{oops"]

    call_command("arq_dead_letters", "--drop")
    assert "1 of 1 dead letters deleted" in capsys.readouterr().out
    assert dead_letters.dead_letter_count(KEYS.source) == 0
