"""The measurement CSV: the pure parser, and the import through /api/v1 (all or nothing)."""

from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from crmphase import clock
from crmphase.metrics.imports import (
    ImportRow,
    MeasurementImportError,
    parse_measurement_csv,
    write_measurement_csv,
)
from crmphase.periods import Period

P = Period.parse
APRIL = P("2026-04")


def parse(text: str | bytes, current=APRIL):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_measurement_csv(data, current=current)


def errors_of(text, current=APRIL):
    with pytest.raises(MeasurementImportError) as caught:
        parse(text, current)
    return [(e.line, e.field) for e in caught.value.errors], caught.value.errors


# --------------------------------------------------------------------------- parser


def test_parses_rows_with_and_without_bom():
    text = "project,kpi,period,value,note\nWeb,Churn,2026-03,15.5,from BI\nWeb,NPS,2026-02,-3,\n"
    for data in (text.encode(), b"\xef\xbb\xbf" + text.encode()):
        rows = parse_measurement_csv(data, current=APRIL)
        assert rows == [
            ImportRow(2, "Web", "Churn", P("2026-03"), Decimal("15.5"), "from BI"),
            ImportRow(3, "Web", "NPS", P("2026-02"), Decimal("-3"), ""),
        ]


def test_note_column_is_optional_and_header_is_case_insensitive():
    rows = parse(" Project ; KPI ;Period;Value\r\nWeb;Churn;2026-03;4\r\n")
    assert rows[0].note == "" and rows[0].value == Decimal(4)


def test_quoted_fields_and_blank_lines():
    rows = parse('project,kpi,period,value,note\n\n"Web, EU","Churn ""net""",2026-01,1,"a\nb"\n')
    assert rows[0].project == "Web, EU" and rows[0].kpi == 'Churn "net"'
    assert rows[0].note == "a\nb" and rows[0].line == 3


def test_every_bad_row_is_reported_with_its_line_and_reason():
    text = (
        "project,kpi,period,value,note\n"
        "Web,Churn,2026-13,1,\n"  # 2: month 13
        "Web,Churn,2026-03,abc,\n"  # 3: not a number
        "Web,Churn,2026-05,1,\n"  # 4: future
        "Web,Churn,2026-03,NaN,\n"  # 5: NaN
        ",Churn,2026-03,1,\n"  # 6: no project
        "Web,Churn,2026-02,1.1234567,\n"  # 7: too many places
        "Web,Churn,2026-02,1\n"  # 8: field count
        "Web,Churn,2026-01,Infinity,\n"  # 9: Infinity
        "Web,Churn,2026-01,2,ok\n"  # 10: fine
        "web,churn,2026-01,3,dup\n"  # 11: duplicate of line 10
    )
    found, errors = errors_of(text)
    assert found == [
        (2, "period"),
        (3, "value"),
        (4, "period"),
        (5, "value"),
        (6, "project"),
        (7, "value"),
        (8, "row"),
        (9, "value"),
        (11, "row"),
    ]
    assert "duplicate of line 10" in errors[-1].message
    assert "future" in errors[2].message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"project,kpi,period,value\n", "no rows"),
        (b"project,kpi,value\nWeb,Churn,1\n", "missing column(s) period"),
        (b"project,kpi,period,value,colour\n", "unknown column"),
        (b"project,kpi,period,value,value\n", "appear twice"),
        ("project,kpi,period,value\nWéb,Churn,2026-01,1\n".encode("latin-1"), "not UTF-8"),
        (b"project,kpi,period,value\nWeb,Ch\x00urn,2026-01,1\n", "not valid CSV"),
    ],
)
def test_file_level_problems(data, fragment):
    with pytest.raises(MeasurementImportError) as caught:
        parse(data)
    assert any(fragment in e.message for e in caught.value.errors), caught.value.errors


rows_strategy = st.lists(
    st.builds(
        ImportRow,
        line=st.just(0),
        project=st.text(
            st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
            min_size=1,
            max_size=20,
        ),
        kpi=st.text(
            st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
            min_size=1,
            max_size=20,
        ),
        period=st.builds(Period, st.integers(2000, 2026), st.integers(1, 3)),
        value=st.decimals(
            min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=3, allow_nan=False
        ),
        note=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(str.strip),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: (r.project.casefold(), r.kpi.casefold(), r.period),
)


@settings(max_examples=150, deadline=None)
@given(rows_strategy)
def test_valid_rows_round_trip(rows):
    parsed = parse_measurement_csv(write_measurement_csv(rows), current=APRIL)
    assert [(r.project, r.kpi, r.period, r.value, r.note) for r in parsed] == [
        (r.project, r.kpi, r.period, r.value, r.note) for r in rows
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parser_never_raises_anything_but_its_own_error_on_bytes(data):
    try:
        parse_measurement_csv(data, current=APRIL)
    except MeasurementImportError as exc:
        assert exc.errors


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.text(max_size=12), min_size=0, max_size=7),
        max_size=6,
    ),
    st.sampled_from([",", ";"]),
)
def test_parser_never_raises_anything_but_its_own_error_on_csv_like_text(table, sep):
    text = "project,kpi,period,value,note\n" + "\n".join(sep.join(row) for row in table)
    try:
        rows = parse_measurement_csv(text.encode("utf-8", "surrogatepass"), current=APRIL)
    except (MeasurementImportError, UnicodeEncodeError):
        return
    assert all(r.period <= APRIL for r in rows)


# --------------------------------------------------------------------------- through the API


@pytest.fixture
def setup(make_project, make_kpi, make_user):
    with clock.frozen("2026-04-15T12:00:00"):
        manager = make_user("manager")
        web = make_project("Web shop", manager=manager, phase="execute")
        churn = make_kpi(web, name="Churn")
        nps = make_kpi(web, name="NPS")
        other = make_project("Call centre", phase="execute")  # another manager's project
        calls = make_kpi(other, name="Calls")
        yield {"manager": manager, "web": web, "churn": churn, "nps": nps, "calls": calls}


def upload(client, text: str | bytes, name="m.csv"):
    import io

    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(
        "/api/v1/imports/measurements",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def measurements(db):
    from crmphase.metrics.models import Measurement

    return db.session.scalars(sa.select(Measurement).order_by(Measurement.id)).all()


def test_import_commits_every_row(api, setup, db, make_measurement):
    make_measurement(setup["churn"], "2026-02", "9")
    text = (
        "project,kpi,period,value,note\n"
        "Web shop,Churn,2026-03,15,\n"
        "Web shop,churn,2026-02,10,fixed\n"
        "web shop,NPS,2026-03,40,\n"
    )
    response = upload(api(setup["manager"]), text)
    assert response.status_code == 201, response.json
    assert response.json == {"rows": 3, "created": 2, "corrected": 1, "unchanged": 0}
    values = {(m.kpi_id, m.period): (m.value, m.source) for m in measurements(db)}
    assert values[(setup["churn"].id, "2026-02")] == (Decimal(10), "import")
    assert len(values) == 3
    again = upload(api(setup["manager"]), text)
    assert again.json == {"rows": 3, "created": 0, "corrected": 0, "unchanged": 3}
    from crmphase.metrics.models import MeasurementRevision

    (revision,) = db.session.scalars(sa.select(MeasurementRevision)).all()
    assert revision.value == Decimal(9) and revision.source == "manual"


def test_a_single_bad_row_imports_nothing_and_lists_every_problem(api, setup, db):
    text = (
        "project,kpi,period,value,note\n"
        "Web shop,Churn,2026-03,15,\n"
        "Web shop,Revenue,2026-03,15,\n"  # unknown KPI
        "Nowhere,Churn,2026-03,1,\n"  # unknown project
        "Web shop,Calls,2026-03,1,\n"  # a KPI of another project
        "Call centre,Calls,2026-03,1,\n"  # not this manager's project
    )
    response = upload(api(setup["manager"]), text)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [(e["line"], e["field"]) for e in response.json["errors"]] == [
        (3, "kpi"),
        (4, "project"),
        (5, "kpi"),
        (6, "kpi"),
    ]
    assert "may not record" in response.json["errors"][-1]["message"]
    assert measurements(db) == []


def test_parse_errors_come_back_as_422_with_lines(api, setup, db):
    response = upload(api(setup["manager"]), "project,kpi,period,value\nWeb shop,Churn,2026-13,x\n")
    assert response.status_code == 422
    assert {(e["line"], e["field"]) for e in response.json["errors"]} == {
        (2, "period"),
        (2, "value"),
    }
    assert measurements(db) == []


def test_ambiguous_project_needs_the_program(api, setup, make_project, make_kpi, db):
    twin = make_project("Web shop", manager=setup["manager"], phase="execute")
    make_kpi(twin, name="Churn")
    client = api(setup["manager"])
    ambiguous = upload(client, "project,kpi,period,value\nWeb shop,Churn,2026-03,1\n")
    assert ambiguous.status_code == 422
    assert "several programs" in ambiguous.json["errors"][0]["message"]
    qualified = f"{twin.program.name} / Web shop"
    with clock.frozen("2026-04-15T12:00:00"):
        ok = upload(client, f"project,kpi,period,value\n{qualified},Churn,2026-03,1\n")
    assert ok.status_code == 201, ok.json
    (measurement,) = measurements(db)
    assert measurement.kpi.project_id == twin.id


def test_too_large_file_gets_a_clear_413(app, api, setup, db):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = upload(api(setup["manager"]), "project,kpi,period,value\n" + "x" * 4000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert "MiB" in response.json["detail"] and "split" in response.json["detail"]
    assert measurements(db) == []


def test_missing_file_and_roles(api, setup):
    response = api(setup["manager"]).post("/api/v1/imports/measurements", data={})
    assert response.status_code == 422
    assert upload(api("viewer"), "project,kpi,period,value\n").status_code == 403
    assert upload(api("steering"), "project,kpi,period,value\n").status_code == 403


def test_names_match_regardless_of_case_beyond_ascii(api, make_project, make_kpi, make_user, db):
    with clock.frozen("2026-04-15T12:00:00"):
        manager = make_user("manager")
        project = make_project("Ärztenetz Süd", manager=manager, phase="execute")
        make_kpi(project, name="Überweisungen")
        response = upload(
            api(manager), "project,kpi,period,value\närztenetz süd,ÜBERWEISUNGEN,2026-03,7\n"
        )
    assert response.status_code == 201, response.json
    assert [m.value for m in measurements(db)] == [Decimal(7)]
