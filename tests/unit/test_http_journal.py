"""The write journal: prior state read before each write, undone after, verified, or listed."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.journal import Journal
from middlebrick.http.policy import Policy
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, response

JSON = Headers.of({"Content-Type": "application/json"})


class _Api:
    """Objects by path; PATCH merges, PUT replaces, POST /notes creates, DELETE removes."""

    def __init__(self, **objects: dict[str, Any]) -> None:
        self.objects = {f"/{path}": dict(value) for path, value in objects.items()}
        self.sent: list[tuple[str, str]] = []
        self.refuse_restore = False
        self.created = 0
        self.location = False
        self.envelope = False
        self.plain = False  # other POSTs answer 200 with a message, no id

    async def send(self, request: Request) -> Exchange:
        path = request.url.removeprefix(BASE).split("?", 1)[0]
        self.sent.append((request.method, path))
        body = json.loads(request.body) if request.body else None
        found = self.objects.get(path)
        if request.method == "GET":
            resp = response(200, found) if found is not None else response(404, {"error": "no"})
        elif request.method in ("POST", "PUT") and path == "/notes":
            self.created += 1
            key = f"n-{self.created}"
            self.objects[f"/notes/{key}"] = {"note_id": key, **(body or {})}
            headers = {"Location": f"/notes/{key}"} if self.location else {}
            answer = {"data": {"id": key}, "permissions": {}} if self.envelope else {"note_id": key}
            resp = response(201, answer, headers)
        elif request.method == "POST":
            resp = response(200 if self.plain else 201, {"ok": True})
        elif request.method == "DELETE" and found is not None:
            del self.objects[path]
            resp = response(204)
        elif found is None:
            resp = response(404, {"error": "no"})
        elif self.refuse_restore and self.sent.count((request.method, path)) > 1:
            resp = response(409, {"error": "locked"})
        elif request.method == "PUT":
            self.objects[path] = dict(body or {})
            resp = response(200, self.objects[path])
        else:
            found.update(body or {})
            resp = response(200, found)
        return Exchange(request, resp)


def _journal(api: _Api, *operations: Operation) -> Journal:
    policy = Policy("active")
    journal = Journal(api.send, policy)
    journal.learn(operations)
    return journal


def _write(method: str, path: str, body: Any, identity: str | None = None) -> Request:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(method, BASE + path, JSON, data, identity)


async def test_journal_restores_what_a_patch_changed_and_reads_it_back() -> None:
    api = _Api(**{"items/1": {"id": "1", "name": "kit", "quantity": 3}})
    journal = _journal(api)

    answer = await journal.send(_write("PATCH", "/items/1", {"quantity": 99}), "check", api.send)
    done = await journal.undo("check")

    assert answer.ok and api.objects["/items/1"]["quantity"] == 3
    assert [r.state for r in done] == ["restored"]
    assert "quantity=3" in done[0].detail
    assert api.sent == [
        ("GET", "/items/1"),  # the prior state
        ("PATCH", "/items/1"),
        ("GET", "/items/1"),
        ("PATCH", "/items/1"),  # the prior values written back
        ("GET", "/items/1"),
    ]


async def test_journal_writes_nothing_back_when_the_object_did_not_change() -> None:
    api = _Api(**{"items/1": {"id": "1", "name": "kit"}})
    journal = _journal(api)

    await journal.send(_write("PATCH", "/items/1", {"name": "kit"}), "check", api.send)
    done = await journal.undo("check")

    assert [r.state for r in done] == ["unchanged"]
    assert [m for m, _ in api.sent].count("PATCH") == 1


async def test_journal_restores_a_put_with_the_whole_prior_object() -> None:
    api = _Api(**{"items/1": {"id": "1", "name": "kit", "quantity": 3}})
    journal = _journal(api)

    await journal.send(_write("PUT", "/items/1", {"id": "1", "name": "x"}), "check", api.send)
    done = await journal.undo("check")

    assert api.objects["/items/1"] == {"id": "1", "name": "kit", "quantity": 3}
    assert [r.state for r in done] == ["restored"]


async def test_journal_refuses_a_write_whose_object_it_cannot_read() -> None:
    api = _Api()
    journal = _journal(api)

    answer = await journal.send(_write("PATCH", "/items/9", {"name": "x"}), "check", api.send)

    assert answer.response is None and "could not be read" in (answer.error or "")
    assert ("PATCH", "/items/9") not in api.sent


async def test_journal_refuses_a_body_that_is_not_a_json_object() -> None:
    api = _Api(**{"items/1": {"id": "1"}})
    journal = _journal(api)

    answer = await journal.send(_write("PATCH", "/items/1", b"name=x"), "check", api.send)

    assert answer.response is None and "JSON objects" in (answer.error or "")
    assert api.sent == []


async def test_journal_never_writes_privileges_or_profile_of_a_scanning_identity() -> None:
    api = _Api(
        **{"members/1": {"member_id": 1, "user_id": "u-alice", "role": "user", "status": "on"}}
    )
    journal = _journal(api)
    journal.protect({"u-alice"})

    role = await journal.send(_write("PATCH", "/members/1", {"role": "admin"}), "c", api.send)
    nested = await journal.send(
        _write("PATCH", "/members/1", {"member": {"isAdmin": True}}), "c", api.send
    )
    status = await journal.send(_write("PATCH", "/members/1", {"status": "away"}), "c", api.send)
    await journal.undo("c")

    assert role.response is None and "role" in (role.error or "")
    assert nested.response is None and "isAdmin" in (nested.error or "")
    assert status.ok
    assert api.objects["/members/1"] == {
        "member_id": 1,
        "user_id": "u-alice",
        "role": "user",
        "status": "on",
    }


async def test_journal_deletes_what_a_post_created_and_checks_it_is_gone() -> None:
    api = _Api()
    journal = _journal(api, Operation("DELETE", "/notes/{note_id}"))

    await journal.send(_write("POST", "/notes", {"text": "hi"}), "check", api.send)
    done = await journal.undo("check")

    assert api.objects == {}
    assert [r.state for r in done] == ["deleted"]
    assert api.sent[-2:] == [("DELETE", "/notes/n-1"), ("GET", "/notes/n-1")]


async def test_journal_writes_a_created_object_with_a_query_string_as_its_own() -> None:
    # Given an object the scan created, updated with fields in the query string
    api = _Api()
    journal = _journal(api, Operation("DELETE", "/notes/{note_id}"))
    await journal.send(_write("POST", "/notes", {"text": "hi"}), "check", api.send)

    await journal.send(_write("PATCH", "/notes/n-1?pinned=true", {"text": "hi"}), "check", api.send)
    done = await journal.undo("check")

    # Then it is written without a prior read or a restore, and deleted
    assert api.sent == [
        ("POST", "/notes"), ("PATCH", "/notes/n-1"), ("DELETE", "/notes/n-1"), ("GET", "/notes/n-1")
    ]  # fmt: skip
    assert [r.state for r in done] == ["deleted"]


async def test_journal_lists_the_urls_of_the_objects_the_scan_created() -> None:
    api = _Api()
    journal = _journal(api, Operation("DELETE", "/notes/{note_id}"))
    assert journal.created == ()

    await journal.send(_write("POST", "/notes", {"text": "hi"}), "check", api.send)

    [url] = journal.created
    assert url.endswith("/notes/n-1")


async def test_journal_deletes_what_a_put_to_the_collection_created() -> None:
    # Given FastAPI's PUT /menu style: the collection's PUT creates one object
    api = _Api()
    journal = _journal(api, Operation("DELETE", "/notes/{note_id}"))

    await journal.send(_write("PUT", "/notes", {"text": "hi"}), "check", api.send)
    done = await journal.undo("check")

    assert api.sent[0] == ("PUT", "/notes")  # never read first: there is no object yet
    assert api.objects == {}
    assert [r.state for r in done] == ["deleted"]


async def test_journal_still_reads_before_a_put_to_an_object() -> None:
    api = _Api(**{"notes/n-9": {"note_id": "n-9", "text": "old"}})
    journal = _journal(api, Operation("DELETE", "/notes/{note_id}"))

    await journal.send(_write("PUT", "/notes/n-9", {"text": "new"}), "check", api.send)
    done = await journal.undo("check")

    assert api.sent[0] == ("GET", "/notes/n-9")
    assert api.objects["/notes/n-9"]["text"] == "old"
    assert [r.state for r in done] == ["restored"]


async def test_journal_finds_a_created_object_s_id_inside_a_data_envelope() -> None:
    # Given Kinto-style answers: {"data": {"id": …}, "permissions": {…}}
    api = _Api()
    api.envelope = True
    journal = _journal(api, Operation("DELETE", "/notes/{note_id}"))

    await journal.send(_write("POST", "/notes", {"text": "hi"}), "check", api.send)
    done = await journal.undo("check")

    assert api.objects == {} and [r.state for r in done] == ["deleted"]


async def test_journal_follows_the_location_header_of_a_created_object() -> None:
    api = _Api()
    api.location = True
    journal = _journal(api)

    await journal.send(_write("POST", "/notes", {"text": "hi"}), "check", api.send)
    done = await journal.undo("check")

    assert api.objects == {} and [r.state for r in done] == ["deleted"]


async def test_journal_lists_a_created_object_it_cannot_find_as_not_restored() -> None:
    api = _Api()
    journal = _journal(api)

    await journal.send(_write("POST", "/hooks", {"url": "http://127.0.0.1:1/"}), "check", api.send)
    done = await journal.undo("check")

    assert [r.state for r in done] == ["not_restored"]
    assert "remove it by hand" in done[0].detail
    assert journal.not_restored == done


async def test_journal_lists_a_2xx_post_without_an_id_unless_it_reads_or_logs_in() -> None:
    api = _Api()
    api.plain = True
    journal = _journal(api)

    for path in ("/users/v1/register", "/products/search", "/auth/login"):
        await journal.send(_write("POST", path, {"username": "x"}), "check", api.send)
    done = await journal.undo("check")

    assert [(r.state, r.url) for r in done] == [("not_restored", BASE + "/users/v1/register")]
    assert "remove it by hand" in done[0].detail


async def test_journal_lists_no_2xx_post_whose_body_is_an_error_envelope() -> None:
    api = _Api()
    journal = _journal(api)
    failed = {"status": "fail", "message": "User already exists. Please Log in."}  # VAmPI's

    async def answer(request: Request) -> Exchange:
        return Exchange(request, response(200, failed))

    sent = await journal.send(_write("POST", "/users/v1/register", {"username": "x"}), "c", answer)
    done = await journal.undo("c")

    assert sent.ok and done == [] and journal.not_restored == []


async def test_journal_deletes_a_self_deleting_account_only_with_its_own_token() -> None:
    sent: list[Request] = []
    gone = {"alive": True}

    async def answer(request: Request) -> Exchange:
        sent.append(request)
        path = request.url.removeprefix(BASE)
        if request.method == "POST":
            return Exchange(request, response(200, {"message": "registered"}))
        if request.method == "DELETE" and path == "/me":
            gone["alive"] = False
            return Exchange(request, response(204))
        return Exchange(request, response(200 if gone["alive"] else 401, {"user": "mbx"}))

    journal = Journal(answer)
    journal.expect(BASE + "/register", BASE + "/me", key="mbx", own=BASE + "/me")
    await journal.send(_write("POST", "/register", {"username": "mbx"}), "c", answer)
    token = Headers.of({"Authorization": "Bearer t-mbx"})
    journal.sign("mbx", token)
    result = await journal.undo_account("mbx")

    assert result is not None and result.state == "deleted"
    own = [r for r in sent if r.url == BASE + "/me"]
    assert [(r.method, r.identity, r.headers) for r in own] == [
        ("DELETE", "anonymous", token),
        ("GET", "anonymous", token),
    ]


async def test_journal_says_what_to_set_back_by_hand_when_restoring_fails() -> None:
    api = _Api(**{"items/1": {"id": "1", "name": "kit"}})
    api.refuse_restore = True
    journal = _journal(api)

    await journal.send(_write("PATCH", "/items/1", {"name": "x"}), "check", api.send)
    done = await journal.undo("check")

    assert [r.state for r in done] == ["not_restored"]
    assert 'set name="kit" by hand on /items/1' in done[0].detail


async def test_journal_undoes_one_check_at_a_time_and_abandons_with_a_reason() -> None:
    api = _Api(**{"items/1": {"id": "1", "name": "a"}, "items/2": {"id": "2", "name": "b"}})
    journal = _journal(api)
    await journal.send(_write("PATCH", "/items/1", {"name": "x"}), "first", api.send)
    await journal.send(_write("PATCH", "/items/2", {"name": "y"}), "second", api.send)

    done = await journal.undo("first")
    journal.abandon(None, "the time budget ran out")

    assert [(r.owner, r.state) for r in done] == [("first", "restored")]
    assert [(r.owner, r.state) for r in journal.not_restored] == [("second", "not_restored")]
    assert "the time budget ran out" in journal.not_restored[0].detail


async def test_journal_reads_the_prior_state_as_the_scan_when_the_writer_cannot() -> None:
    api = _Api(**{"items/1": {"id": "1", "name": "kit"}})

    async def only_the_owner_reads(request: Request) -> Exchange:
        if request.method == "GET" and request.identity == "bob":
            return Exchange(request, response(403, {"error": "not yours"}))
        return await api.send(request)

    journal = Journal(only_the_owner_reads, Policy("active"))
    write = _write("PATCH", "/items/1", {"name": "x"}, identity="bob")
    await journal.send(write, "check", only_the_owner_reads)
    done = await journal.undo("check")

    assert [r.state for r in done] == ["restored"] and api.objects["/items/1"]["name"] == "kit"
