"""GeoReport v2 documents as JSON or XML, the way the specification writes them (element names = keys;
lists of services/requests inside ``<services>``/``<service_requests>``; errors as ``<errors><error>``)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from fastapi import Response

FORMATS = ("json", "xml")


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: Element, item: dict[str, Any]) -> None:
    for key, value in item.items():
        child = SubElement(parent, key)
        if isinstance(value, list):  # <attributes><attribute>, <endpoints><endpoint>, <formats><format>
            for entry in value:
                element = SubElement(child, key[:-1] if key.endswith("s") else key)
                if isinstance(entry, dict):
                    _fill(element, entry)
                else:
                    element.text = _value(entry)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _value(value)


def xml_document(root: str, item_tag: str, items: list[dict[str, Any]]) -> bytes:
    """``<root><item_tag>...</item_tag>...</root>`` with an XML declaration."""
    top = Element(root)
    for item in items:
        _fill(SubElement(top, item_tag), item)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="unicode").encode()


def xml_object(root: str, item: dict[str, Any]) -> bytes:
    """``<root>`` holding ``item``'s fields directly (the discovery document)."""
    top = Element(root)
    _fill(top, item)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="unicode").encode()


def respond(fmt: str, payload: Any, *, root: str, item_tag: str, status: int = 200) -> Response:
    """``payload`` in ``fmt``: a list of dicts (XML: ``<root><item_tag>``...), or one dict (XML: ``<root>`` itself
    when ``root == item_tag``, else wrapped as the single item)."""
    if fmt == "xml" and isinstance(payload, dict) and root == item_tag:
        return Response(xml_object(root, payload), status_code=status, media_type="text/xml")
    if fmt == "xml":
        items = payload if isinstance(payload, list) else [payload]
        return Response(xml_document(root, item_tag, items), status_code=status, media_type="text/xml")
    return Response(json.dumps(payload, ensure_ascii=False), status_code=status,
                    media_type="application/json")


def error(fmt: str, status: int, description: str) -> Response:
    """The spec's error document: ``[{"code": status, "description": ...}]``."""
    return respond(fmt, [{"code": status, "description": description}], root="errors", item_tag="error",
                   status=status)
