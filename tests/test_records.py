"""Flat records (CSV rows, JSONL lines, webhook items) becoming mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.records import MalformedRecord, RecordMapper, parse_count, parse_time

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AIRLINE_COLUMNS = {
    "id": "tweet_id",
    "text": "text",
    "created_at": "tweet_created",
    "author": "name",
    "reposts": "retweet_count",
}


@pytest.fixture
def mapper() -> RecordMapper:
    return RecordMapper("airline", AIRLINE_COLUMNS, lambda: NOW)


def airline_row(**fields: str) -> dict[str, str]:
    row = {
        "tweet_id": "570306133677760513",
        "airline_sentiment": "negative",
        "text": "@united you lost my bag &amp; my patience",
        "tweet_created": "2015-02-24 11:35:52 -0800",
        "name": "cairdin",
        "retweet_count": "2",
    }
    row.update(fields)
    return row


# parse_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-10T09:15:00Z", datetime(2026, 3, 10, 9, 15, tzinfo=UTC)),
        ("2015-02-16 23:36:05 -0800", datetime(2015, 2, 17, 7, 36, 5, tzinfo=UTC)),
        ("2015-02-16T23:36:05+01:00", datetime(2015, 2, 16, 22, 36, 5, tzinfo=UTC)),
        ("2026-03-10T09:15:00", datetime(2026, 3, 10, 9, 15, tzinfo=UTC)),
        ("  2026-03-10 09:15:00  ", datetime(2026, 3, 10, 9, 15, tzinfo=UTC)),
        ("2026-03-10", datetime(2026, 3, 10, tzinfo=UTC)),
        (1424130965, datetime(2015, 2, 16, 23, 56, 5, tzinfo=UTC)),
        (1424130965.5, datetime(2015, 2, 16, 23, 56, 5, 500_000, tzinfo=UTC)),
        ("1424130965", datetime(2015, 2, 16, 23, 56, 5, tzinfo=UTC)),
    ],
)
def test_parse_time(value: object, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-45", True, None, [2026], {"t": 1}])
def test_parse_time_rejects(value: object) -> None:
    with pytest.raises(MalformedRecord, match="not"):
        parse_time(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**20, "1e400"])
def test_parse_time_rejects_out_of_range_numbers(value: float) -> None:
    with pytest.raises(MalformedRecord):
        parse_time(value)


@pytest.mark.parametrize("value", [0, 12, "2024", -5])
def test_a_number_before_2000_is_not_a_posts_time(value: object) -> None:
    """ "2024" or a 0 default would otherwise be read as Unix seconds in 1970."""
    with pytest.raises(MalformedRecord, match="before 2000"):
        parse_time(value)


@pytest.mark.parametrize("value", [1424130965000, "1424130965000", 1424130965000.0])
def test_parse_time_reads_unix_milliseconds(value: object) -> None:
    assert parse_time(value) == datetime(2015, 2, 16, 23, 56, 5, tzinfo=UTC)


def test_out_of_range_time_in_a_record_is_malformed(mapper: RecordMapper) -> None:
    record = {"tweet_id": "1", "text": "hello", "tweet_created": float("inf")}
    with pytest.raises(MalformedRecord, match="tweet_created"):
        mapper.mention(record)


# parse_count


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", 0), (None, 0), ("0", 0), ("3", 3), (" 4 ", 4), ("3.0", 3), ("1e3", 1000), (7, 7)],
)
def test_parse_count(value: object, expected: int) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", [-1, "-2"])
def test_parse_count_rejects_negative(value: object) -> None:
    with pytest.raises(MalformedRecord, match="negative"):
        parse_count(value)


@pytest.mark.parametrize("value", ["1e20", 2**63, 10**30])
def test_parse_count_rejects_what_no_database_holds(value: object) -> None:
    with pytest.raises(MalformedRecord, match="larger than any count"):
        parse_count(value)


@pytest.mark.parametrize("value", ["lots", True, "nan", "inf", [1]])
def test_parse_count_rejects_non_numbers(value: object) -> None:
    with pytest.raises(MalformedRecord, match="not a count"):
        parse_count(value)


# RecordMapper


def test_airline_row_with_column_mapping(mapper: RecordMapper) -> None:
    mention = mapper.mention(airline_row())

    assert mention.source == "airline"
    assert mention.native_id == "570306133677760513"
    assert mention.key == ("airline", "570306133677760513")
    assert mention.text == "@united you lost my bag & my patience"
    assert mention.created_at == datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)
    assert mention.author.handle == "cairdin"
    assert mention.engagement.reposts == 2
    assert mention.engagement.likes == 0
    assert mention.author.followers == 0


def test_raw_payload_kept_as_given(mapper: RecordMapper) -> None:
    row = airline_row()
    mention = mapper.mention(row)
    assert mention.raw == row
    assert mention.raw["airline_sentiment"] == "negative"
    assert mention.raw["text"] == "@united you lost my bag &amp; my patience"
    # A copy: changing the source record afterwards does not change the mention.
    row["text"] = "changed"
    assert mention.raw["text"] != "changed"


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("Fish &amp; chips", "Fish & chips"),
        ("&lt;3 &gt;:(", "<3 >:("),
        ("&quot;late&quot; &#39;again&#39;", "\"late\" 'again'"),
        ("caf&eacute; &#x1F621;", "café 😡"),
    ],
)
def test_html_entities_unescaped(mapper: RecordMapper, escaped: str, plain: str) -> None:
    assert mapper.mention(airline_row(text=escaped)).text == plain


def test_unmapped_fields_use_their_own_name() -> None:
    mapper = RecordMapper("hook", {}, lambda: NOW)
    mention = mapper.mention(
        {
            "id": 42,
            "text": "  padded text  ",
            "created_at": "2026-03-10T09:00:00Z",
            "url": "https://example.com/42",
            "author": "@someone",
            "author_name": "Some One",
            "followers": "1500",
            "language": "FR",
            "reposts": 1,
            "likes": "2",
            "replies": 3,
            "quotes": "",
            "parent_id": "41",
        }
    )
    assert mention.native_id == "42"
    assert mention.text == "padded text"
    assert mention.created_at == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert mention.url == "https://example.com/42"
    assert mention.author.handle == "someone"
    assert mention.author.name == "Some One"
    assert mention.author.followers == 1500
    assert mention.language == "fr"
    assert (mention.engagement.reposts, mention.engagement.likes) == (1, 2)
    assert (mention.engagement.replies, mention.engagement.quotes) == (3, 0)
    assert mention.parent_id == "41"


def test_missing_time_uses_now(mapper: RecordMapper) -> None:
    assert mapper.mention(airline_row(tweet_created="")).created_at == NOW
    row = airline_row()
    del row["tweet_created"]
    assert mapper.mention(row).created_at == NOW


def test_time_in_another_zone_is_converted_to_utc() -> None:
    mapper = RecordMapper("hook", {}, lambda: NOW)
    mention = mapper.mention({"id": "1", "text": "x", "created_at": "2026-03-10T10:00:00+02:00"})
    assert mention.created_at == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert mention.created_at.utcoffset() == timedelta(0)
    assert mention.created_at == datetime(2026, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize("column", ["tweet_id", "text"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_id_or_text_names_the_column(
    mapper: RecordMapper, column: str, value: str | None
) -> None:
    row = airline_row()
    if value is None:
        del row[column]
    else:
        row[column] = value
    with pytest.raises(MalformedRecord, match=f"'{column}' is missing or empty"):
        mapper.mention(row)


def test_bad_values_name_the_column(mapper: RecordMapper) -> None:
    with pytest.raises(MalformedRecord, match=r"'retweet_count'.*negative"):
        mapper.mention(airline_row(retweet_count="-3"))
    with pytest.raises(MalformedRecord, match=r"'tweet_created'.*not an ISO 8601 time"):
        mapper.mention(airline_row(tweet_created="last tuesday"))


def test_record_that_is_not_an_object(mapper: RecordMapper) -> None:
    with pytest.raises(MalformedRecord, match="expected an object, got list"):
        mapper.mention(["570306133677760513", "text"])  # type: ignore[arg-type]


def test_text_that_is_an_object(mapper: RecordMapper) -> None:
    with pytest.raises(MalformedRecord, match="expected text"):
        mapper.mention({"tweet_id": "1", "text": {"body": "hello"}})


def test_overlong_text(mapper: RecordMapper) -> None:
    assert len(mapper.mention(airline_row(text="x" * 40_000)).text) == 40_000
    with pytest.raises(MalformedRecord, match="longer than"):
        mapper.mention(airline_row(text="x" * 40_001))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1710061200000", datetime(2024, 3, 10, 9, 0, tzinfo=UTC)),  # ISO would say 1710-06-12
        (" 1728041180000 ", datetime(2024, 10, 4, 11, 26, 20, tzinfo=UTC)),
        ("1710061200", datetime(2024, 3, 10, 9, 0, tzinfo=UTC)),
        ("20240310", datetime(2024, 3, 10, tzinfo=UTC)),  # too small for Unix time: ISO 8601
    ],
)
def test_a_string_of_digits_is_a_unix_time_before_a_compact_iso_date(
    value: str, expected: datetime
) -> None:
    assert parse_time(value) == expected
