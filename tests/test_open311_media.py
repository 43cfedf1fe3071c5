"""Open311 POSTs with ``media_url`` and ``attribute[code]`` answers (GeoReport v2): the service definition
lists the category's questions from the rules (JSON and XML), answers are checked against it with the spec's
400 errors, stored on the ticket and shown to staff on its console page, and a GET returns the media_url but never the
answers or the reporter."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from test_open311_api import REQUEST_FIELDS, _key
from test_tickets import World
from test_web_console import _login
from web_support import INSIDE, client_for, world_in

from cases.models import Ticket
from cases.rules.schema import Rules

QUESTIONS = [
    {"code": "floor", "description": {"zh": "楼层", "en": "Floor"}, "datatype": "number", "required": True},
    {"code": "source", "description": {"zh": "漏水来源", "en": "Where it leaks from"},
     "datatype": "singlevaluelist", "values": {"pipe": {"zh": "水管", "en": "Pipe"},
                                               "roof": {"zh": "屋顶", "en": "Roof"}}},
    {"code": "rooms", "description": {"zh": "受影响房间", "en": "Rooms affected"}, "datatype": "multivaluelist",
     "values": {"kitchen": {"zh": "厨房", "en": "Kitchen"}, "bath": {"zh": "卫生间", "en": "Bathroom"}}},
    {"code": "seen_at", "description": {"zh": "发现时间", "en": "Seen at"}, "datatype": "datetime"},
]


@pytest.fixture
def asking(rules: Rules) -> Rules:
    """The bundled rules, the water category asking :data:`QUESTIONS`."""
    water = rules.categories["water"].model_validate(rules.categories["water"].model_dump() | {"attributes": QUESTIONS})
    return rules.model_copy(update={"categories": rules.categories | {"water": water}})


@pytest.fixture
def world(engine: Engine, asking: Rules, now: datetime) -> World:
    return world_in(engine, asking, now)


@pytest.fixture
def client(engine: Engine, asking: Rules, now: datetime, world: World) -> Iterator[TestClient]:
    with client_for(engine, asking, now) as c:
        yield c


def _form(key: str, **extra: str) -> dict[str, str | list[str]]:
    return {"api_key": key, "service_code": "water", "description": "楼上漏水", "lat": str(INSIDE[0]),
            "long": str(INSIDE[1]), "attribute[floor]": "5", **extra}


def test_service_definition_lists_the_questions(client: TestClient) -> None:
    services = {s["service_code"]: s for s in client.get("/open311/v2/services.json").json()}
    assert services["water"]["metadata"] is True and services["gas"]["metadata"] is False
    doc = client.get("/open311/v2/services/water.json?lang=en").json()
    assert doc["service_code"] == "water"
    floor, source, rooms, _ = doc["attributes"]
    assert floor == {"variable": True, "code": "floor", "datatype": "number", "required": True,
                     "datatype_description": "", "order": 1, "description": "Floor", "values": []}
    assert source["values"] == [{"key": "pipe", "name": "Pipe"}, {"key": "roof", "name": "Roof"}]
    assert (rooms["datatype"], rooms["required"], rooms["order"]) == ("multivaluelist", False, 3)
    root = ET.fromstring(client.get("/open311/v2/services/water.xml").content)
    [attribute] = [a for a in root.findall("service_definition/attributes/attribute") if a.findtext("code") == "source"]
    assert attribute.findtext("datatype") == "singlevaluelist" and attribute.findtext("required") == "false"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == ["pipe", "roof"]
    assert attribute.findtext("values/value/name") == "水管"


def test_media_url_and_answers_are_stored_and_only_the_url_comes_back(client: TestClient, engine: Engine,
                                                                      asking: Rules, now: datetime,
                                                                      world: World) -> None:
    key = _key(engine, asking, now)
    form = _form(key, **{"attribute[source]": "pipe", "attribute[seen_at]": "2026-11-29T08:00:00+08:00",
                         "media_url": "https://hotline.example.org/media/77.jpg"})
    response = client.post("/open311/v2/requests.json", data={**form, "attribute[rooms][]": ["kitchen", "bath"]})
    assert response.status_code == 200, response.text
    number = int(response.json()[0]["service_request_id"])
    with Session(engine) as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        assert ticket.media_url == "https://hotline.example.org/media/77.jpg"
        assert ticket.service_attributes == {"floor": "5", "source": "pipe", "rooms": ["kitchen", "bath"],
                                             "seen_at": "2026-11-29T08:00:00+08:00"}
    [got] = client.get(f"/open311/v2/requests/{number}.json").json()
    assert set(got) == REQUEST_FIELDS and got["media_url"] == "https://hotline.example.org/media/77.jpg"
    assert "kitchen" not in str(got) and "pipe" not in str(got)
    root = ET.fromstring(client.get(f"/open311/v2/requests/{number}.xml").content)
    assert root.findtext("request/media_url") == "https://hotline.example.org/media/77.jpg"
    assert root.find("request/attribute") is None and root.find("request/attributes") is None
    _login(client, engine, world.leader, now)  # staff see the answers on the ticket page, in their language
    page = client.get(f"/console/tickets/{number}").text
    assert 'id="media-url" href="https://hotline.example.org/media/77.jpg"' in page
    for question, answer in (("楼层", "5"), ("漏水来源", "水管"), ("受影响房间", "厨房、卫生间")):
        assert f"<dt>{question}</dt><dd class=\"answer\">{answer}</dd>" in page


def test_chat_tickets_have_no_media_url(client: TestClient, engine: Engine, asking: Rules, now: datetime) -> None:
    key = _key(engine, asking, now)
    assert client.post("/open311/v2/requests.json", data=_form(key)).status_code == 200
    with Session(engine) as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        assert ticket.media_url is None  # posted without one
        ticket.photo_file_id = "resident-photo"  # a chat photo is never linked from a GET
        session.commit()
    [got] = client.get("/open311/v2/requests/1.json").json()
    assert got["media_url"] is None and "resident-photo" not in str(got)


@pytest.mark.parametrize(("extra", "words"), [
    ({"attribute[colour]": "red"}, "attribute 'colour' is not asked"),
    ({"attribute[floor]": ""}, "attribute 'floor' is required"),
    ({"attribute[floor]": "fifth"}, "attribute 'floor' must be a number"),
    ({"attribute[source]": "sink"}, "'sink' is not one of pipe, roof"),
    ({"attribute[seen_at]": "yesterday"}, "must be a w3c date-time"),
    ({"media_url": "javascript:alert(1)"}, "media_url must be an http or https URL"),
    ({"media_url": "https://x.example.org/" + "a" * 2000}, "media_url must be an http or https URL"),
])
def test_bad_answers_are_refused_as_the_spec_says(client: TestClient, engine: Engine, asking: Rules, now: datetime,
                                                  extra: dict[str, str], words: str) -> None:
    key = _key(engine, asking, now)
    for fmt in ("json", "xml"):
        response = client.post(f"/open311/v2/requests.{fmt}", data=_form(key, **extra))
        assert response.status_code == 400, response.text
        if fmt == "json":
            [error] = response.json()
            assert error["code"] == 400 and words in error["description"]
        else:
            root = ET.fromstring(response.content)
            assert root.tag == "errors" and words in (root.findtext("error/description") or "")
    with Session(engine) as session:
        assert session.get(Ticket, 1) is None  # nothing was opened


def test_two_values_for_a_single_value_attribute_are_refused(client: TestClient, engine: Engine, asking: Rules,
                                                             now: datetime) -> None:
    key = _key(engine, asking, now)
    response = client.post("/open311/v2/requests.json", data={**_form(key), "attribute[source][]": ["pipe", "roof"]})
    assert response.status_code == 400 and "takes one value" in response.json()[0]["description"]


def test_rules_refuse_a_list_without_values(rules: Rules) -> None:
    with pytest.raises(ValueError, match="needs values"):
        rules.categories["water"].model_validate(
            rules.categories["water"].model_dump() | {"attributes": [{"code": "x", "datatype": "singlevaluelist",
                                                                       "description": {"zh": "甲", "en": "x"}}]})
