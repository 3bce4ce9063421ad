"""Tenant switching: a header or query parameter names the tenant, and nothing checks it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from middlebrick.findings import Confidence
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import response, run_check

ALICE = {"sub": "u-alice-1", "tenant": "acme"}
CAROL = {"sub": "u-carol-3", "tenant": "globex"}
TENANT_HEADER = Parameter("X-Tenant-ID", "header")
MEMBERS = Operation("GET", "/members", parameters=(TENANT_HEADER,))
MEMBER = Operation(
    "GET",
    "/members/{member_id}",
    parameters=(TENANT_HEADER, Parameter("member_id", "path", required=True)),
)
PEOPLE = {
    "acme": [{"member_id": 1, "tenant": "acme", "name": "Alice"}],
    "globex": [{"member_id": 3, "tenant": "globex", "name": "Carol"}],
}
IDENTITIES = Identities(
    primary=Identity("alice", True, frozenset({"u-alice-1", "acme"})),
    others=(Identity("carol", True, frozenset({"u-carol-3", "globex"})),),
)


def _tenants_api(*, header: str = "X-Tenant-ID", checked: bool):
    """Members per tenant; the tenant comes from ``header`` (refused when ``checked``)."""

    def answer(request: Request) -> Response:
        own = {None: "acme", "carol": "globex"}.get(request.identity)
        if own is None:
            return response(401, {"detail": "authentication required"})
        asked = (
            request.headers.get(header)
            or parse_qs(urlsplit(request.url).query).get(header, [None])[0]
        )
        if checked and asked not in (None, own):
            return response(403, {"detail": "forbidden"})
        tenant = asked or own
        path = urlsplit(request.url).path
        if path == "/members":
            return response(200, {"members": PEOPLE.get(tenant, [])})
        wanted = int(path.rsplit("/", 1)[-1])
        found = [m for m in PEOPLE.get(tenant, []) if m["member_id"] == wanted]
        return response(200, found[0]) if found else response(404, {"detail": "not found"})

    return answer


async def _run(fake, scan, *pairs):
    return await run_check(
        "bola.tenant_switch",
        baseline=fake.baseline(*pairs),
        sender=fake,
        scan=scan(alice=ALICE, carol=CAROL),
        identities=IDENTITIES,
    )


async def test_tenant_switch_reports_a_tenant_header_that_reads_another_tenant(api, scan):
    fake = api(_tenants_api(checked=False))

    found = await _run(fake, scan, (MEMBERS, "/members"), (MEMBER, "/members/1"))

    assert [(f.operation, f.parameter) for f in found] == [
        ("GET /members", "X-Tenant-ID"),
        ("GET /members/{member_id}", "X-Tenant-ID"),
    ]
    assert all(f.confidence is Confidence.confirmed for f in found)
    assert [e.label for e in found[1].evidence] == ["baseline", "control: no tenant", "switched"]
    assert "denied (404) without the carrier" in found[1].detail
    assert [(urlsplit(r.url).path, r.headers.get("X-Tenant-ID")) for r in fake.sent] == [
        ("/members", "globex"),
        ("/members/3", None),  # carol's member, from the switched list: the control
        ("/members/3", "globex"),
    ]


async def test_tenant_switch_stays_quiet_when_the_tenant_is_checked(api, scan):
    fake = api(_tenants_api(checked=True))

    found = await _run(fake, scan, (MEMBERS, "/members"), (MEMBER, "/members/1"))

    assert found == []


async def test_tenant_switch_guesses_an_undeclared_carrier_where_the_tenant_shows(api, scan):
    fake = api(_tenants_api(header="tenant", checked=False))
    members = Operation("GET", "/members")

    found = await _run(fake, scan, (members, "/members"))

    assert [(f.operation, f.parameter) for f in found] == [("GET /members", "tenant")]
    assert "`?tenant=`" in found[0].detail
    assert len(fake.sent) == 3  # X-Tenant-ID, X-Tenant, then ?tenant=


async def test_tenant_switch_stays_quiet_when_only_the_data_changed(api, scan):
    pages = iter([["Alice", "Bob"], ["Alice", "Bob", "Zed"]])

    def growing(request: Request) -> Response:
        names = next(pages, ["Alice"])
        return response(200, {"members": [{"tenant": "acme", "name": n} for n in names]})

    fake = api(growing)

    found = await _run(fake, scan, (Operation("GET", "/members"), "/members"))

    assert found == []


async def test_tenant_switch_stays_quiet_without_users_of_another_tenant(api, scan, users):
    fake = api(_tenants_api(checked=False))

    found = await run_check(
        "bola.tenant_switch",
        baseline=fake.baseline((MEMBERS, "/members")),
        sender=fake,
        scan=scan(),  # alice and bob, both of acme
        identities=users(),
    )

    assert found == []
    assert fake.sent == []


async def test_tenant_switch_reports_a_list_equal_to_what_the_other_tenant_s_user_gets(api, scan):
    names = {"acme": ["Alice", "Bob"], "globex": ["Carol", "Dave"]}

    def bare(request: Request) -> Response:
        own = {None: "acme", "carol": "globex"}[request.identity]
        tenant = request.headers.get("X-Tenant-ID") or own
        return response(200, {"members": [{"name": n} for n in names[tenant]]})

    fake = api(bare)

    found = await _run(fake, scan, (MEMBERS, "/members"))

    assert [(f.operation, f.confidence) for f in found] == [("GET /members", Confidence.confirmed)]
    assert "the one 'carol' gets, not the caller's" in found[0].detail
    assert [(r.identity, r.headers.get("X-Tenant-ID")) for r in fake.sent] == [
        (None, "globex"),
        (None, None),  # the caller again, now
        ("carol", None),
    ]
