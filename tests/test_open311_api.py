"""The Open311 GeoReport v2 API against the specification (http://wiki.open311.org/GeoReport_v2):
response shapes and values in JSON and XML, the spec's errors, keys, scope, rate limit and the paging
extension. POSTed requests go through the same routing and dispatch as a chat report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from test_tickets import World, open_one
from web_support import INSIDE, client_for, world_in

from cases.models import OutboxMessage, Person, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services.api_keys import create_key

REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}


@pytest.fixture
def world(engine: Engine, rules: Rules, now: datetime) -> World:
    return world_in(engine, rules, now)


@pytest.fixture
def client(engine: Engine, rules: Rules, now: datetime, world: World) -> Iterator[TestClient]:
    with client_for(engine, rules, now) as c:
        yield c


def _key(engine: Engine, rules: Rules, now: datetime, name: str = "hotline", area: str | None = None,
         per_hour: int = 60) -> str:
    with Session(engine) as session:
        _, secret = create_key(session, rules=rules, name=name, area=area, per_hour=per_hour, now=now)
        session.commit()
    return secret


def _post(client: TestClient, fmt: str = "json", **form: str) -> tuple[int, str]:
    response = client.post(f"/open311/v2/requests.{fmt}", data=form)
    return response.status_code, response.text


def test_services_list_in_json_and_xml(client: TestClient, rules: Rules) -> None:
    items = client.get("/open311/v2/services.json").json()
    assert [s["service_code"] for s in items] == list(rules.categories)
    for item in items:
        assert set(item) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
        assert item["metadata"] is False and item["type"] in ("realtime", "batch", "blackbox")
    root = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == list(rules.categories)
    assert root.find("service/metadata").text == "false"  # type: ignore[union-attr]


def test_service_definition_and_unknown_service(client: TestClient) -> None:
    assert client.get("/open311/v2/services/water.json").json() == {"service_code": "water", "attributes": []}
    root = ET.fromstring(client.get("/open311/v2/services/water.xml").content)
    assert root.tag == "service_definitions" and root.findtext("service_definition/service_code") == "water"
    missing = client.get("/open311/v2/services/nope.json")
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "service_code 'nope' not found"}]
    xml = ET.fromstring(client.get("/open311/v2/services/nope.xml").content)
    assert xml.tag == "errors" and xml.findtext("error/code") == "404"


def test_discovery_lists_the_endpoint(client: TestClient) -> None:
    doc = client.get("/open311/v2/discovery.json").json()
    endpoint = doc["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/") and "application/json" in endpoint["formats"]
    root = ET.fromstring(client.get("/open311/v2/discovery.xml").content)
    assert root.tag == "discovery" and root.findtext("endpoints/endpoint/formats/format") == "text/xml"


def test_post_opens_a_routed_dispatched_ticket(client: TestClient, engine: Engine, rules: Rules, now: datetime,
                                               world: World) -> None:
    key = _key(engine, rules, now)
    status, body = _post(client, api_key=key, service_code="streetlight", description="路灯不亮 电话13812345678",
                         lat=str(INSIDE[0]), long=str(INSIDE[1]))
    assert status == 200, body
    [answer] = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "water", "description": "漏水", "lat": str(INSIDE[0]),
        "long": str(INSIDE[1])}).json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    with Session(engine) as session:
        ticket = session.get(Ticket, int(answer["service_request_id"]))
        assert ticket is not None
        assert (ticket.category, ticket.area, ticket.target, ticket.status) == (
            "water", "taizimiao-1", "grid:taizimiao-1", "open")
        opened = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).one()
        assert opened.data["via"] == "open311:hotline"
        told = session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all()
        assert {m.chat_id for m in told} >= {world.worker.telegram_id, world.worker2.telegram_id}
        assert all(m.chat_id > 0 for m in told)  # nobody tries to message the key's own "person"
        # Resolved in chat later: the resident's messages to the key's person are skipped, never sent.
        from bot.replies import tell

        reporter = session.get(Person, ticket.reporter_id)
        assert reporter is not None and tell(session, reporter, "r_note", now=now, number="#1", note="x") == []
    [got] = client.get(f"/open311/v2/requests/{answer['service_request_id']}.json").json()
    assert set(got) == REQUEST_FIELDS
    assert got["service_code"] == "water" and got["status"] == "open"
    assert got["expected_datetime"] is not None and got["expected_datetime"].endswith("+08:00")
    [first] = client.get("/open311/v2/requests.json", params={"service_code": "streetlight"}).json()
    assert "13812345678" not in first["description"] and "***" in first["description"]


def test_post_errors_follow_the_spec(client: TestClient, engine: Engine, rules: Rules, now: datetime) -> None:
    key = _key(engine, rules, now, name="street", area="yunmeng-1", per_hour=1)
    lat, lon = str(INSIDE[0]), str(INSIDE[1])
    cases = [
        ({"service_code": "water", "lat": lat, "long": lon}, 403, "api_key is required"),
        ({"api_key": "wrong", "service_code": "water", "lat": lat, "long": lon}, 403, "api_key is not valid"),
        ({"api_key": key, "service_code": "nope", "lat": lat, "long": lon}, 400, "unknown service_code"),
        ({"api_key": key, "service_code": "water"}, 400, "a location is required"),
        ({"api_key": key, "service_code": "water", "lat": "north", "long": lon}, 400, "lat must be a number"),
        ({"api_key": key, "service_code": "water", "lat": lat, "long": lon}, 403, "may only report places inside"),
    ]
    for form, code, words in cases:
        for fmt in ("json", "xml"):
            response = client.post(f"/open311/v2/requests.{fmt}", data=form)
            assert response.status_code == code, (form, response.text)
            if fmt == "json":
                [error] = response.json()
                assert error["code"] == code and words in error["description"]
            else:
                root = ET.fromstring(response.content)
                assert root.tag == "errors" and root.findtext("error/code") == str(code)
                assert words in (root.findtext("error/description") or "")


def test_rate_limit_and_revoked_key(client: TestClient, engine: Engine, rules: Rules, now: datetime) -> None:
    key = _key(engine, rules, now, name="limited", per_hour=1)
    form = {"api_key": key, "service_code": "water", "lat": str(INSIDE[0]), "long": str(INSIDE[1])}
    assert _post(client, **form)[0] == 200
    status, body = _post(client, **form)
    assert status == 403 and "rate limit" in body
    from cases.services.api_keys import revoke_key

    with Session(engine) as session:
        revoke_key(session, name="limited", now=now)
        session.commit()
    assert "not valid" in _post(client, **form)[1]


def test_requests_search_defaults_filters_and_paging(client: TestClient, engine: Engine, world: World,
                                                     now: datetime) -> None:
    with Session(engine, expire_on_commit=False) as session:
        old = open_one(session, world, now - timedelta(days=100), message_id=1)
        recent = [open_one(session, world, now - timedelta(days=i), message_id=10 + i) for i in range(5)]
        session.commit()
    ids = [int(r["service_request_id"]) for r in client.get("/open311/v2/requests.json").json()]
    assert ids == sorted(t.id or 0 for t in recent)  # oldest first
    assert old.id not in ids  # the spec's 90-day default
    by_id = client.get("/open311/v2/requests.json", params={"service_request_id": f"{old.id},{recent[0].id}"})
    assert {r["service_request_id"] for r in by_id.json()} == {str(old.id), str(recent[0].id)}
    page = client.get("/open311/v2/requests.json", params={"page_size": 2}).json()
    rest = client.get("/open311/v2/requests.json", params={"page_size": 2, "after": page[-1]["service_request_id"]})
    assert len(page) == 2 and int(rest.json()[0]["service_request_id"]) > int(page[-1]["service_request_id"])
    window = client.get("/open311/v2/requests.json", params={
        "start_date": (now - timedelta(days=2, hours=1)).isoformat(), "end_date": now.isoformat()}).json()
    assert len(window) == 3
    assert client.get("/open311/v2/requests.json", params={"status": "closed"}).json() == []
    root = ET.fromstring(client.get("/open311/v2/requests.xml").content)
    assert root.tag == "service_requests" and len(root.findall("request")) == 5
    assert {child.tag for child in root.find("request")} == REQUEST_FIELDS  # type: ignore[union-attr]
    bad = client.get("/open311/v2/requests.json", params={"start_date": "yesterday"})
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    assert client.get("/open311/v2/requests/999999.json").status_code == 404


def test_no_personal_data_in_gets(client: TestClient, engine: Engine, world: World, now: datetime) -> None:
    with Session(engine) as session:
        open_one(session, world, now)
        session.commit()
    items = client.get("/open311/v2/requests.json").json()
    xml = client.get("/open311/v2/requests.xml").text
    assert items and all(set(item) == REQUEST_FIELDS for item in items)  # no reporter, chat or holder field
    for private in (world.reporter.name, world.worker.name, "reporter", "chat_id", "claimed_by"):
        assert private not in str(items) and private not in xml
