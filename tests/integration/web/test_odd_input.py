"""Odd input gets a 400 naming the field, never a 500, and the same answer on both engines:
integers past 64 bits, times out of range, unpaired surrogates and NUL characters in JSON."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import assert_error, bearer, settle_after_server_error


def _raw(http: httpx.Client, token: str, method: str, path: str, body: str) -> httpx.Response:
    headers = {**bearer(token), "Content-Type": "application/json"}
    response = http.request(method, path, content=body.encode(), headers=headers)
    settle_after_server_error(response)
    return response


def test_an_integer_past_64_bits_in_a_query_is_400(http: httpx.Client, admin_token: str) -> None:
    response = http.get(
        "/api/profiles/prof_x/access-log", params={"before": str(2**63)}, headers=bearer(admin_token)
    )
    settle_after_server_error(response)
    assert_error(response, 400, "invalid_request", "before")


def test_a_time_out_of_range_is_400(http: httpx.Client, admin_token: str) -> None:
    response = http.get(
        "/api/messaging/stats", params={"since": "9999-12-31T23:59:59-23:59"}, headers=bearer(admin_token)
    )
    settle_after_server_error(response)
    assert_error(response, 400, "invalid_time", "since")


BAD = [
    # an unpaired surrogate in free-form JSON
    (
        "POST",
        "/api/segments/preview",
        '{"condition": {"event": {"name": "A\\ud800"}}}',
        "condition.event.name",
    ),
    (
        "POST",
        "/api/commerce/orders",
        '{"channel": "web", "fulfilment": "home_delivery", "lines": [{"sku": "X", "quantity": 1}],'
        ' "shipping_address": {"street": "\\udc00"}}',
        "shipping_address.street",
    ),
    (
        "POST",
        "/api/messaging/templates/tpl_x/preview",
        '{"profile_id": "p", "data": {"\\ud800": 1}}',
        "data.\\ud800",
    ),
    # NUL characters, stored by one engine and refused by the other before
    ("POST", "/api/segments", '{"name": "a\\u0000b", "condition": {"event": {"name": "A"}}}', "name"),
    (
        "POST",
        "/api/profiles/prof_x/consents",
        '{"changes": [{"purpose": "sms_marketing", "status": "granted", "wording": "ja\\u0000"}]}',
        "changes.0.wording",
    ),
    ("POST", "/api/sources", '{"name": "shop", "channel": "web\\u0000"}', "channel"),
    # integers past 64 bits in free-form JSON
    (
        "POST",
        "/api/segments/preview",
        '{"condition": {"trait": {"key": "n", "op": "gt", "value": 123456789012345678901234567890}}}',
        "condition.trait.value",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD)
def test_odd_text_and_numbers_in_json_are_400_naming_the_field(
    http: httpx.Client, admin_token: str, method: str, path: str, body: str, field: str
) -> None:
    response = _raw(http, admin_token, method, path, body)
    assert_error(response, 400, "invalid_character", field)


def test_a_valid_surrogate_pair_is_fine(http: httpx.Client, admin_token: str) -> None:
    body = '{"name": "Smile \\ud83d\\ude00", "condition": {"event": {"name": "A"}}}'
    response = _raw(http, admin_token, "POST", "/api/segments", body)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Smile \U0001f600"
