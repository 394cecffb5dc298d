"""``omnikanal import customers``: a customer file becomes identify events through ingest, row by row."""

from __future__ import annotations

from pathlib import Path

from omnikanal.hub import Hub
from tests.integration.cli.test_cli import cli_env, run

__all__ = ["cli_env"]

GERMAN = (
    "Kundennummer;Vorname;Nachname;Geburtstag;E-Mail;Telefon;Straße;Hausnummer;PLZ;Ort;Filiale\n"
    "K-100;Jürgen;Müller;1971-04-02;juergen.mueller@example.de;0171 2345678;Hauptstr.;5;50667;Köln;koeln\n"
    ";Anna;Weiß;;;;Lindenweg;12;80331;München;muenchen\n"
    ";;;;;;;;;;muenchen\n"
    "K-101;Zu;Wenige\n"
)


def test_a_german_export_is_imported_and_a_bad_row_is_named_by_its_line(
    cli_env: dict[str, str], hub: Hub, tmp_path: Path
) -> None:
    file = tmp_path / "kunden.csv"
    file.write_text(GERMAN, encoding="utf-8")

    done = run(["import", "customers", str(file)], cli_env, check=False)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "4 rows: 2 imported, 0 already imported, 2 failed" in done.stdout
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in done.stdout.splitlines() if "│" in line]
    failed = {row[0]: " ".join(row[1:]) for row in cells if row and row[0].isdigit()}
    assert "holds none of" in failed["4"]  # the row with only a store
    assert "has 3 values; the heading names 11" in failed["5"]
    known = hub.profiles.lookup("user_id", "K-100")
    assert known["traits"]["lastName"]["value"] == "Müller"
    assert known["traits"]["address"]["value"]["postalCode"] == "50667"
    assert hub.profiles.lookup("email", "juergen.mueller@example.de")["id"] == known["id"]
    # a card without a customer number is a person without a user id, kept with her address
    assert hub.sources.get("customer-import").channel == "erp"

    again = run(["import", "customers", str(file)], cli_env, check=False)
    assert "0 imported, 2 already imported" in again.stdout


def test_a_windows_file_is_refused_until_its_encoding_is_named(
    cli_env: dict[str, str], hub: Hub, tmp_path: Path
) -> None:
    file = tmp_path / "kunden.csv"
    file.write_bytes("Vorname,Nachname,E-Mail\nGrete,Größer,grete@example.de\n".encode("cp1252"))

    refused = run(["import", "customers", str(file)], cli_env, check=False)
    assert refused.returncode == 2
    assert "not UTF-8" in refused.stdout
    assert "--encoding cp1252" in refused.stdout

    done = run(["import", "customers", str(file), "--encoding", "cp1252"], cli_env)
    assert "1 imported" in done.stdout
    assert hub.profiles.lookup("email", "grete@example.de")["traits"]["lastName"]["value"] == "Größer"


def test_unknown_or_missing_columns_are_refused_before_anything_is_imported(
    cli_env: dict[str, str], hub: Hub, tmp_path: Path
) -> None:
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("email,shoe_size\na@example.de,44\n", encoding="utf-8")
    done = run(["import", "customers", str(unknown)], cli_env, check=False)
    assert done.returncode == 2
    assert "unknown column(s): shoe_size" in done.stdout

    nothing = tmp_path / "nothing.csv"
    nothing.write_text("city,store\nKöln,koeln\n", encoding="utf-8")
    done = run(["import", "customers", str(nothing)], cli_env, check=False)
    assert done.returncode == 2
    assert "needs at least one of" in done.stdout
    assert hub.sources.list() == []  # refused before a source was made
