"""What an operation's names say: the words the safety policy recognises them by.

An operation's path, operationId and the first words of its summary and description are split
into lower-case words (``words``) and looked up in ``knowledge/safety.yaml``, which says where
its entries come from: whether they name a state change or an act that cannot be undone
(``action``; also among the acts coordinated in the first sentence of the summary or
description, and for a GET the verbs of a write, ``writes``), a write to an irreversible or
protected resource (``resource``), authentication (``authenticates``, ``logs_in``,
``password_login``), a read (``names_read``), a registration (``names_registration``) or the
check of a one-time code (``verifies_code``); and whether a write is a creation the journal can
delete again (``removable_creation``). ``http.policy`` decides with them what a scan may send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal
from urllib.parse import unquote

from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation

__all__ = [
    "KIND_WORDS",
    "Kind",
    "action",
    "authenticates",
    "creates",
    "deletable",
    "find_action",
    "logs_in",
    "names_read",
    "names_registration",
    "password_login",
    "removable_creation",
    "resource",
    "segments",
    "verifies_code",
    "words",
]

Kind = Literal[
    "excluded", "state-changing", "irreversible", "protected", "undeletable", "unrecognised"
]
"""Why an operation is not tested (``http.policy.Skipped``)."""

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_ID_LIKE = re.compile(r"[0-9]|^.{25,}$")  # a segment of a concrete path that is an id, not a name


def words(text: str) -> tuple[str, ...]:
    """``text`` as lower-case words, split on separators and camelCase ("resetDB" -> reset, db)."""
    return tuple(word.lower() for word in _WORD.findall(text))


def action(op: Operation) -> tuple[Kind, str] | None:
    """Whether ``op``'s names say it changes state or cannot be undone, and the sentence why."""
    known = safety_words()
    sources = [(f"its path `{op.path}`", _path_words(op.path), False)]
    if op.operation_id:
        named = words(op.operation_id)
        if named and named[0] not in known.read_verbs:
            sources.append((f"its operationId `{op.operation_id}`", (named,), False))
    for label, text in (("summary", op.summary), ("description", op.description)):
        lead = words(" ".join(text.split()[:2]))
        if lead:
            sources.append((f"its {label} ({_quote(text)})", (lead[:2],), True))
    for kind, vocabulary in (
        ("state-changing", known.state_changing),
        ("irreversible", known.irreversible),
    ):
        for where, groups, leading in sources:
            word = _find(vocabulary, groups, leading=leading)
            if word is not None:
                return kind, f"{where} names {KIND_WORDS[kind]} (`{word}`)"  # type: ignore[return-value]
    return _stated_act(op)


def _stated_act(op: Operation) -> tuple[Kind, str] | None:
    """Whether ``op``'s summary or description says, among the acts of its first sentence, that
    it changes state: "Obtains or creates a referral code", "Returns the message and marks it
    as read", "Fetches the file, then deletes it", "Returns the code, creating one if needed".

    The acts are the sentence's first verb and the verbs coordinated with it (after "and",
    "or", "then" or a comma); one counts when an object follows it ("and marks it"), or when it
    follows a known first verb directly ("Get or create"), so a list of nouns ("Returns items
    and updates since …", "News and updates") names no act, nor does a participle ("Returns the
    created item", "Lists deleted items"). A safe method's
    words are also compared with the verbs of a write (``writes``), which name its normal work
    for the other methods.
    """
    known = safety_words()
    vocabularies: list[tuple[Kind, tuple[str, ...]]] = [
        ("state-changing", known.state_changing),
        ("irreversible", known.irreversible),
    ]
    if op.method in _SAFE_METHODS:
        vocabularies.append(("state-changing", known.writes))
    verbs = [*known.read_verbs, *(w for _, words in vocabularies for w in words if " " not in w)]
    for label, text in (("summary", op.summary), ("description", op.description)):
        for kind, vocabulary in vocabularies:
            word = _act_in(vocabulary, _first_sentence(text), verbs)
            if word is not None:
                where = f"its {label} ({_quote(text)})"
                return kind, f"{where} names {KIND_WORDS[kind]} (`{word}`)"
    return None


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_TOKEN = re.compile(r"[a-z]+|,")
_SENTENCE_END = re.compile(r"[.;:!?()\n]")
# English grammar, not API knowledge: what joins coordinated verbs ("gets or creates", "returns
# and then marks"), the adverbs that may stand between ("and optionally deletes"), and the words
# an object of a verb starts with (determiners and pronouns: "creates a code", "marks it").
_COORDINATORS = frozenset({",", "and", "or", "then", "also", "optionally", "afterwards"})
_OBJECT_STARTS = frozenset({
    "a", "an", "the", "it", "them", "its", "their", "this", "that", "these", "those", "any",
    "all", "each", "every", "one", "ones", "new", "his", "her", "him", "your", "our", "my",
    "me", "us", "some", "another", "both",
})  # fmt: skip


def _first_sentence(text: str) -> list[str]:
    return _TOKEN.findall(_SENTENCE_END.split(text.strip().lower(), 1)[0])


def _act_in(vocabulary: Iterable[str], tokens: list[str], verbs: Iterable[str]) -> str | None:
    """The entry of ``vocabulary`` that one of the acts of a sentence's ``tokens`` names.

    An act counts when an object follows it ("creates a code", "and marks it"), or when it is
    coordinated directly with a first word that is one of the known ``verbs`` as an imperative
    ("Get or create"): after a noun ("News and updates", "Exports and imports", a lone
    "Archives") it is a noun too.
    """
    if not tokens or tokens[0] == ",":
        return None
    lead_is_verb = tokens[0] in set(verbs)  # an imperative; "Imports", "Views" may be nouns
    entries = [tuple(entry.split()) for entry in vocabulary]
    candidates = [(0, False)]  # (start, in the run of verbs that opens the sentence)
    direct = True  # no other word yet between the first verb and the next act
    position = 1
    while position < len(tokens):
        if tokens[position] not in _COORDINATORS:
            direct = direct and position == candidates[-1][0]
            position += 1
            continue
        while position < len(tokens) and tokens[position] in _COORDINATORS:
            position += 1
        if position < len(tokens):
            candidates.append((position, direct))
            position += 1
    for start, adjacent in candidates:
        for entry in entries:
            if not _names(entry, tokens[start : start + len(entry)]):
                continue
            end = start + len(entry)
            after = tokens[end] if end < len(tokens) else None
            if (adjacent and lead_is_verb) or after in _OBJECT_STARTS:
                return " ".join(entry)
    return None


def _names(entry: tuple[str, ...], found: list[str]) -> bool:
    """True when ``found`` is ``entry`` with its verb in any simple form ("create", "creates",
    "creating"; "reset", "resets", "resetting"; "marks ... as")."""
    if len(found) != len(entry) or tuple(found[1:]) != entry[1:]:
        return False
    verb, word = entry[0], found[0]
    forms = {verb, verb + "s", verb + "es", verb + "ing", verb + verb[-1:] + "ing"}
    if verb.endswith("e"):
        forms.add(verb[:-1] + "ing")
    if verb.endswith("y"):
        forms.add(verb[:-1] + "ies")
    return word in forms


def resource(path: str) -> tuple[Kind, str] | None:
    """Whether a write to ``path`` (a template or URL path) touches an irreversible or protected
    resource (its last literal segment), and the sentence why."""
    literal = [s for s in segments(path) if "{" not in s and not _ID_LIKE.search(s)]
    if not literal:
        return None
    last = words(literal[-1])
    known = safety_words()
    for kind, vocabulary in (
        ("irreversible", known.irreversible_resources),
        ("protected", known.protected_resources),
    ):
        for entry in vocabulary:
            tail = tuple(entry.split())
            if last[-len(tail) :] == tail:
                return kind, f"it writes {KIND_WORDS[kind]} (`{literal[-1]}`)"  # type: ignore[return-value]
    return None


def authenticates(path: str) -> bool:
    """True when a path's literal words name an authentication operation (login, token, …)."""
    return _find(safety_words().authentication, _path_words(path), leading=False) is not None


def names_read(path: str) -> bool:
    """True when a path's last literal segment names a read (``/products/search``,
    ``/v1/books:search``): a POST to it takes its query in the body and changes nothing."""
    literal = [s for s in segments(path) if "{" not in s]
    return bool(literal) and bool(set(words(literal[-1])) & set(safety_words().read_verbs))


def logs_in(path: str) -> bool:
    """True when a path's last literal segment names authentication (``/auth/login``,
    ``/oauth/token``), not merely one of its folders (``/auth/register`` creates an account)."""
    literal = [s for s in segments(path) if "{" not in s]
    return bool(literal) and authenticates(literal[-1])


# A password login's body: a user name and a password, as the OAuth 2.0 resource-owner
# password grant takes them (RFC 6749 §4.3.2: grant_type=password, username, password; FastAPI's
# OAuth2PasswordRequestForm, Django REST framework's obtain_auth_token, SimpleJWT).
_LOGIN_USER = frozenset({"username", "email", "login"})


def password_login(op: Operation) -> bool:
    """True for a ``POST`` that logs in with a user name and a password: its last literal path
    segment names authentication (``/token``, ``/oauth/token``) and its body (form-encoded or
    JSON) has a ``username`` (or ``email``/``login``) and a ``password`` field. The login
    checks send it made-up credentials only, so it issues nothing; a write to a token or a
    credential resource otherwise stays refused."""
    body = op.request_body
    if op.method != "POST" or body is None or "{" in op.path or not logs_in(op.path):
        return False
    fields = {"".join(words(str(name))) for name in (body.schema.get("properties") or {})}
    return "password" in fields and bool(fields & _LOGIN_USER)


def names_registration(path: str) -> bool:
    """True when a path's last literal segment names a registration (``/auth/register``,
    ``/signup``): a POST to it creates an account."""
    literal = [s for s in segments(path) if "{" not in s]
    if not literal:
        return False
    return _find(safety_words().registration, (words(literal[-1]),), leading=False) is not None


def verifies_code(path: str) -> bool:
    """True when a path checks a one-time code: its last literal segment names a verification
    (``verify``, ``confirm``, ``check``) and an earlier one names authentication
    (``/auth/otp/verify``, ``/mfa/verify``); like a login, a wrong code creates nothing."""
    literal = [s for s in segments(path) if "{" not in s]
    if len(literal) < 2 or not set(words(literal[-1])) & set(safety_words().verification):
        return False
    return any(authenticates(segment) for segment in literal[:-1])


KIND_WORDS: dict[str, str] = {
    "state-changing": "a state change",
    "irreversible": "an act that cannot be undone",
    "protected": "settings, memberships or accounts, which the scan never writes",
}


def segments(path: str) -> list[str]:
    """The path's segments, percent-decoded."""
    return [unquote(segment) for segment in path.split("/") if segment]


def _path_words(path: str) -> tuple[tuple[str, ...], ...]:
    return tuple(words(segment) for segment in segments(path) if "{" not in segment)


def find_action(path: str) -> tuple[Kind, str] | None:
    """A state-changing or irreversible word in the literal words of a concrete path."""
    known = safety_words()
    groups = _path_words(path)
    for kind, vocabulary in (
        ("state-changing", known.state_changing),
        ("irreversible", known.irreversible),
    ):
        word = _find(vocabulary, groups, leading=False)
        if word is not None:
            return kind, word  # type: ignore[return-value]
    return None


def _find(
    vocabulary: Iterable[str], groups: Iterable[tuple[str, ...]], *, leading: bool
) -> str | None:
    """The first entry of ``vocabulary`` found in a group of words (only at its start when
    ``leading``, where a third-person "s"/"es" is also accepted)."""
    entries = [tuple(entry.split()) for entry in vocabulary]
    for group in groups:
        starts = range(1) if leading else range(len(group))
        for start in starts:
            first = group[start] if start < len(group) else ""
            forms = {first}
            if leading and first.endswith("s"):
                forms |= {first[:-1], first[:-2] if first.endswith("es") else first[:-1]}
            for entry in entries:
                rest = group[start + 1 : start + len(entry)]
                if entry[0] in forms and tuple(entry[1:]) == rest:
                    return " ".join(entry)
    return None


def removable_creation(op: Operation, everything: Iterable[Operation]) -> bool:
    """True for a ``POST`` that adds to a collection whose objects have a documented ``DELETE``
    (``POST /reviews`` beside ``DELETE /reviews/{id}``): the journal can delete what it makes.

    A ``PUT`` to the collection itself (``PUT /menu`` beside ``DELETE /menu/{item_id}``) counts
    when it documents 201 and its body is one object: a PUT whose body is a list, or that does
    not say it creates, may replace the whole collection.
    """
    if op.method == "PUT":
        schema = op.request_body.schema if op.request_body is not None else None
        one = isinstance(schema, dict) and schema.get("type", "object") == "object"
        created = any(status == "201" for status in op.responses)
        if not (one and created and not op.path.rstrip("/").endswith("}")):
            return False
        return deletable(op, everything)
    return op.method == "POST" and creates(op, everything) and deletable(op, everything)


def creates(op: Operation, everything: Iterable[Operation]) -> bool:
    """A POST that adds to a collection: it answers 201, or a GET lists the same path."""
    if any(status == "201" for status in op.responses):
        return True
    return any(other.method == "GET" and other.path == op.path for other in everything)


def deletable(op: Operation, everything: Iterable[Operation]) -> bool:
    """True when a DELETE of one object of ``op``'s collection (``/path/{id}``) is documented."""
    prefix = op.path.rstrip("/") + "/"
    for other in everything:
        rest = other.path[len(prefix) :] if other.path.startswith(prefix) else ""
        if (
            other.method == "DELETE"
            and rest.startswith("{")
            and rest.endswith("}")
            and "/" not in rest
        ):
            return True
    return False


def _quote(text: str) -> str:
    first = " ".join(text.split())
    return f"“{first[:60]}…”" if len(first) > 60 else f"“{first}”"
