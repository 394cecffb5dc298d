"""Catalogue, locations and bulk import over HTTP and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from omnikanal.hub import Hub
from tests.commerce_helpers import LOCATIONS, drill, get, make_gtin, put
from tests.helpers import assert_error, bearer

CSV_HEADER = "product_id,sku,gtin,name_de,name_en,category_id,colour,size,price_web,price_store\n"


def test_a_product_is_created_replaced_and_found_by_gtin_with_or_without_leading_zeros(
    http: httpx.Client, admin_token: str
) -> None:
    created = http.put("/api/commerce/products/DRILL-18V", json=drill(), headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    product = created.json()
    blue = product["variants"][0]
    assert blue["gtin"] == "0" + make_gtin(1)  # stored as 14 digits
    assert blue["gtin_display"] == make_gtin(1)
    assert {p["channel"]: p["amount_cents"] for p in blue["prices"]} == {"store": 13490, "web": 12990}

    for written in (make_gtin(1), "0" + make_gtin(1), "000" + make_gtin(1)):
        found = get(http, admin_token, f"/api/commerce/gtin/{written}")
        assert found["sku"] == "DRILL-18V-BLUE"

    # A PUT replaces: green is retired (kept for old orders), red arrives.
    second = drill(colours=("blue", "red"))
    second["variants"][1]["gtin"] = make_gtin(3)  # the retired green keeps its GTIN
    replaced = http.put("/api/commerce/products/DRILL-18V", json=second, headers=bearer(admin_token))
    assert replaced.status_code == 200, replaced.text
    assert [v["sku"] for v in replaced.json()["variants"]] == [
        "DRILL-18V-BLUE",
        "DRILL-18V-GREEN",
        "DRILL-18V-RED",
    ]
    assert [v["active"] for v in replaced.json()["variants"]] == [True, False, True]
    listed = get(http, admin_token, "/api/commerce/products")["products"]
    assert [v["sku"] for v in listed[0]["variants"]] == ["DRILL-18V-BLUE", "DRILL-18V-RED"]


def test_wrong_check_digits_and_taken_skus_are_refused_and_nothing_is_stored(
    http: httpx.Client, admin_token: str
) -> None:
    bad = drill()
    bad["variants"][1]["gtin"] = make_gtin(2)[:-1] + str((int(make_gtin(2)[-1]) + 3) % 10)
    response = http.put("/api/commerce/products/DRILL-18V", json=bad, headers=bearer(admin_token))
    error = assert_error(response, 400, "invalid_check_digit", "variants.1.gtin")
    assert f"check digit is {make_gtin(2)[-1]}" in error["message"]
    assert_error(
        http.get("/api/commerce/products/DRILL-18V", headers=bearer(admin_token)), 404, "product_not_found"
    )

    put(http, admin_token, "/api/commerce/products/DRILL-18V", drill())
    thief = drill("DRILL-OTHER", colours=("blue",), base=50)
    thief["variants"][0]["sku"] = "DRILL-18V-BLUE"
    response = http.put("/api/commerce/products/DRILL-OTHER", json=thief, headers=bearer(admin_token))
    assert_error(response, 409, "sku_taken", "variants.0.sku")
    assert_error(
        http.get("/api/commerce/products/DRILL-OTHER", headers=bearer(admin_token)), 404, "product_not_found"
    )

    response = http.put(
        "/api/commerce/products/X1", json={**drill("X1"), "category_id": "nope"}, headers=bearer(admin_token)
    )
    assert_error(response, 404, "category_not_found", "category_id")
    response = http.put("/api/commerce/products/X2", json=drill("X1"), headers=bearer(admin_token))
    assert_error(response, 400, "id_mismatch", "id")
    response = http.put(
        "/api/commerce/products/X1",
        json={**drill("X1"), "names": {"fr": "Perceuse"}},
        headers=bearer(admin_token),
    )
    assert_error(response, 400, "invalid_request", "names")
    assert_error(
        http.get("/api/commerce/gtin/12345", headers=bearer(admin_token)), 400, "invalid_check_digit", "gtin"
    )


def test_category_tree_and_products_of_a_subtree(http: httpx.Client, admin_token: str) -> None:
    put(http, admin_token, "/api/commerce/categories/tools", {"id": "tools", "names": {"de": "Werkzeug"}})
    put(
        http,
        admin_token,
        "/api/commerce/categories/drills",
        {"id": "drills", "parent_id": "tools", "names": {"de": "Bohrmaschinen", "en": "Drills"}},
    )
    put(http, admin_token, "/api/commerce/categories/garden", {"id": "garden", "names": {"en": "Garden"}})
    put(http, admin_token, "/api/commerce/products/DRILL-18V", {**drill(), "category_id": "drills"})
    tree = get(http, admin_token, "/api/commerce/categories")["categories"]
    assert [(c["id"], [k["id"] for k in c["children"]]) for c in tree] == [
        ("garden", []),
        ("tools", ["drills"]),
    ]
    assert [
        p["id"] for p in get(http, admin_token, "/api/commerce/products", category="tools")["products"]
    ] == ["DRILL-18V"]
    assert get(http, admin_token, "/api/commerce/products", category="garden")["products"] == []
    # A category cannot sit below itself.
    response = http.put(
        "/api/commerce/categories/tools",
        json={"id": "tools", "parent_id": "drills", "names": {"de": "Werkzeug"}},
        headers=bearer(admin_token),
    )
    assert_error(response, 400, "category_cycle", "parent_id")


def test_locations_with_time_zone_opening_hours_and_services(http: httpx.Client, admin_token: str) -> None:
    created = http.put("/api/commerce/locations/store-mitte", json=LOCATIONS[0], headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    store = created.json()
    assert store["timezone"] == "Europe/Berlin"
    assert store["opening_hours"]["mon"] == [["09:00", "20:00"]]
    assert store["services"] == ["click_and_collect", "reservations", "returns"]
    assert [
        x["id"] for x in get(http, admin_token, "/api/commerce/locations", kind="store")["locations"]
    ] == ["store-mitte"]
    bad: list[tuple[dict[str, Any], int, str, str]] = [
        ({"timezone": "Europe/Atlantis"}, 400, "invalid_timezone", "timezone"),
        ({"services": ["teleport"]}, 400, "invalid_request", "services"),
        ({"opening_hours": {"mon": [["20:00", "09:00"]]}}, 400, "invalid_request", "opening_hours"),
        ({"latitude": 95}, 400, "invalid_request", "latitude"),
        ({"kind": "kiosk"}, 400, "invalid_request", "kind"),
    ]
    for change, status, code, field in bad:
        response = http.put(
            "/api/commerce/locations/store-mitte",
            json={**LOCATIONS[0], **change},
            headers=bearer(admin_token),
        )
        assert_error(response, status, code, field)
    assert get(http, admin_token, "/api/commerce/locations/store-mitte") == store


def test_csv_import_keeps_the_valid_rows_and_reports_the_others(http: httpx.Client, admin_token: str) -> None:
    put(http, admin_token, "/api/commerce/categories/drills", {"id": "drills", "names": {"de": "Bohrer"}})
    rows = [
        f"DRILL-18V,DRILL-18V-BLUE,{make_gtin(1)},Bohrschrauber,Drill,drills,blue,,12990,13490",
        f"DRILL-18V,DRILL-18V-GREEN,{make_gtin(2)},Bohrschrauber,Drill,drills,green,,12990,13490",
        f"SAW-1,SAW-1-S,{make_gtin(3)[:-1]}0,Säge,Saw,drills,,S,4990,",  # wrong check digit (unless 0)
        ",NO-PRODUCT,,Ohne,,,,,100,",
        f"SAW-2,SAW-2-M,{make_gtin(4)},Säge,Saw,nowhere,,M,4990,",
        "SAW-3,SAW-3-L,,Säge,Saw,,,L,cheap,",
    ]
    assert not make_gtin(3).endswith("0")
    response = http.post(
        "/api/commerce/catalogue/import",
        params={"format": "csv"},
        content=(CSV_HEADER + "\n".join(rows) + "\n").encode(),
        headers={**bearer(admin_token), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["imported"], report["failed"], report["created_products"]) == (6, 2, 4, 1)
    assert [(e["row"], e["code"], e["field"]) for e in report["errors"]] == [
        (4, "invalid_check_digit", "variants.0.gtin"),
        (5, "invalid_row", "id"),
        (6, "category_not_found", "category_id"),
        (7, "invalid_price", "price_web"),
    ]
    product = get(http, admin_token, "/api/commerce/products/DRILL-18V")
    assert [v["sku"] for v in product["variants"]] == ["DRILL-18V-BLUE", "DRILL-18V-GREEN"]
    assert product["names"] == {"de": "Bohrschrauber", "en": "Drill"}
    assert_error(
        http.get("/api/commerce/products/SAW-1", headers=bearer(admin_token)), 404, "product_not_found"
    )


def test_json_lines_import_of_whole_products_and_flat_rows(http: httpx.Client, admin_token: str) -> None:
    lines = [
        orjson.dumps(drill()).decode(),
        "{not json",
        orjson.dumps(
            {"product_id": "BITS", "sku": "BITS-32", "name_en": "Bits", "price_store": 1999}
        ).decode(),
        # A SKU of another product: refused by the database check, undone alone.
        orjson.dumps({"product_id": "FAKE", "sku": "DRILL-18V-BLUE", "name_de": "Fälschung"}).decode(),
        "[1, 2]",
        orjson.dumps({"product_id": "X", "sku": "X-1", "name_de": "X", "colour_code": "red"}).decode(),
    ]
    response = http.post(
        "/api/commerce/catalogue/import",
        params={"format": "jsonl"},
        content="\n".join(lines).encode(),
        headers=bearer(admin_token),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["failed"]) == (2, 4)
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (2, "invalid_json"),
        (4, "sku_taken"),
        (5, "invalid_row"),
        (6, "unknown_column"),
    ]
    assert get(http, admin_token, "/api/commerce/products/BITS")["variants"][0]["prices"] == [
        {"channel": "store", "amount_cents": 1999, "currency": "EUR"}
    ]
    assert_error(
        http.get("/api/commerce/products/FAKE", headers=bearer(admin_token)), 404, "product_not_found"
    )
    response = http.post(
        "/api/commerce/catalogue/import",
        params={"format": "xml"},
        content=b"<a/>",
        headers=bearer(admin_token),
    )
    assert_error(response, 400, "invalid_request", "format")


def test_cli_import_with_progress_and_a_row_error_report(hub: Hub, database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_text(
        CSV_HEADER
        + f"DRILL-18V,DRILL-18V-BLUE,{make_gtin(1)},Bohrschrauber,Drill,,blue,,12990,\n"
        + "SAW-1,SAW-1-S,4006381333932,Säge,Saw,,,S,4990,\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "OMNIKANAL_DATABASE_URL": database_url,
        "OMNIKANAL_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "omnikanal", "catalogue", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 rows: 1 imported (1 new products), 1 failed" in done.stdout
    assert "invalid_check_digit" in done.stdout
    assert hub.commerce.catalogue.product("DRILL-18V")["variants"][0]["gtin"] == "0" + make_gtin(1)
