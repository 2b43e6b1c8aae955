"""Which incident a negative mention belongs to, and each group's risk over the last hour.

A brand's negative mentions form its ``storm`` group. A mention that shares something concrete
with others (the post it replies to, a linked page, a hashtag other than the brand's own) also
counts in that topic's group, which gets an incident of its own once it is large and risky
enough by itself; from then on its mentions go there rather than into the storm. (A reply thread
under a post that a live incident holds joins that incident instead: ``IncidentEngine``.)

Each group bins its negative mentions in 5-minute bins (event time) and, at every bin's end,
scores the last hour with the burst detector (against the group's own baseline, with the
cold-start prior for a new topic) and :func:`bot.spread.risk.assess`.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.model import ScoredMention
from bot.spread.burst import BurstDetector, BurstSettings
from bot.spread.risk import Risk, RiskInputs, assess, reach_fraction
from bot.urls import canonical_url

STORM = "storm"
BIN = timedelta(minutes=5)
WINDOW_BINS = 12  # one hour
MAX_REFS_PER_BIN = 200
NOT_THEMES = frozenset({"duration", "repetition", "sarcasm", "exasperation"})
_HASHTAG = re.compile(r"(?<![\w#])#(\w{2,60})")
_LINK = re.compile(r"https?://[^\s<>\"')\]]+")

MentionRef = tuple[str, str]


def topic_keys(scored: ScoredMention, own_hashtags: frozenset[str]) -> list[str]:
    """The concrete things this mention shares with others, most specific first."""
    mention = scored.mention
    keys = [f"thread:{mention.source}:{mention.parent_id}"] if mention.parent_id else []
    keys += [f"url:{url}" for url in dict.fromkeys(canonical_links(mention.text))][:2]
    tags = dict.fromkeys(f"#{tag.lower()}" for tag in _HASHTAG.findall(mention.text))
    keys += [tag for tag in tags if tag not in own_hashtags][:2]
    return keys


def canonical_links(text: str) -> list[str]:
    """The links in a text, each in its canonical spelling (``bot.urls``)."""
    return [link for raw in _LINK.findall(text) if (link := canonical_url(raw, fragment=False))]


def typed_topic(typed: str) -> str:
    """The topic key a person means by what they typed, as a card shows topics: a link
    (``news.example/a``, ``https://www.news.example/a/?utm_source=x``, ``link news.example/a``)
    is ``url:`` and its canonical spelling, a hashtag (``#Tag`` or ``tag``) is ``#tag``,
    ``storm`` is the storm; a key itself (``url:…``, ``thread:…``, from a card's button) stays.
    ValueError, saying why, for what no topic can ever be (a reply thread has no name a
    person can type: its card's Silence topic button names it)."""
    text = typed.strip()
    if text.lower() == STORM:
        return STORM
    if text.startswith("thread:") and text.count(":") >= 2:
        return text
    if text.lower().startswith("reply thread"):
        raise ValueError("a reply thread cannot be typed: use the Silence topic button on its card")
    text = text.removeprefix("url:").removeprefix("link ").strip()
    tag = text.removeprefix("#")
    if re.fullmatch(r"\w{2,60}", tag):
        return f"#{tag.lower()}"
    link = text if "://" in text else f"https://{text}"
    canonical = canonical_url(link, fragment=False) if _LINK.fullmatch(link) else ""
    if not canonical or ("://" not in text and "." not in canonical.split("/", 1)[0]):
        raise ValueError(
            f"no topic can be {typed.strip()!r}: write a link (news.example/page), "
            "a hashtag (#tag) or storm"
        )
    return f"url:{canonical}"


EXAMPLE_TEXT = 280


def example_of(scored: ScoredMention) -> dict[str, Any]:
    """A mention as a card shows it: who, how far they reach, what they said, where."""
    mention = scored.mention
    text = " ".join(mention.text.split())
    if len(text) > EXAMPLE_TEXT:
        text = text[: EXAMPLE_TEXT - 1].rsplit(" ", 1)[0] + "…"
    return {
        "key": list(mention.key),
        "author": mention.author.handle,
        "followers": mention.author.followers,
        "text": text,
        "url": mention.url,
        "negativity": scored.negativity.score,
    }


def themes_of(scored: ScoredMention) -> list[str]:
    """Complaint themes named by the scorer's reasons ("cancelled: “cancelled”" → cancelled)."""
    themes = []
    for reason in scored.negativity.reasons:
        head, colon, _ = reason.partition(":")
        theme = head.strip().replace(" ", "_")
        if colon and theme and theme not in NOT_THEMES:
            themes.append(theme)
    return themes


@dataclass(slots=True)
class BinSummary:
    """What one 5-minute bin of a group's negative mentions holds."""

    count: int = 0
    negativity: float = 0.0
    top_author: str = ""
    top_example: dict[str, Any] = field(default_factory=dict)
    top_followers: int = 0
    top_influencer: bool = False
    reposts: int = 0
    votes: int = 0  # largest upvotes (on a site that spreads by votes) seen in this bin
    predicted: float = 0.0  # largest final reposts predicted while this bin was current
    refs: list[MentionRef] = field(default_factory=list)
    themes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupReading:
    """A group's last hour at a bin's end."""

    at: datetime
    risk: Risk
    burst: bool
    negative: int


class GroupRisk:
    """One group's negative mentions, binned, and its risk at each bin's end."""

    def __init__(
        self, key: tuple[str, str], start: datetime, usual_per_hour: float | None = None
    ) -> None:
        self.key = key
        # a topic's group begins with its first negative mention, or its first after an idle
        # hour (the engine forgets idle topics): its hour before is known to be empty. A
        # storm's begins when the brand is first listened to: the brand's usual is unknown,
        # a quiet brand's unless app.yaml says (``usual_complaints_per_hour``)
        settings = BurstSettings()
        if usual_per_hour:
            settings = replace(settings, prior_rate_per_hour=usual_per_hour)
        self.detector = BurstDetector(settings)
        if key[1] != STORM:
            self.detector.known_quiet()
        self.bin_start = start
        self.current = BinSummary()
        self.closed: deque[BinSummary] = deque(maxlen=WINDOW_BINS)
        self.last_mention_at = start
        self.last: GroupReading | None = None

    def add(self, scored: ScoredMention, influencer: bool, votes: bool = False) -> bool:
        """Count a mention in the current bin; whether the bin kept its reference (it keeps at
        most ``MAX_REFS_PER_BIN``). With ``votes`` the mention's reposts are upvotes (its
        source spreads posts by votes: ``bot.sources.VOTING_TYPES``)."""
        mention = scored.mention
        summary = self.current
        summary.count += 1
        summary.negativity += scored.negativity.score
        if votes:
            summary.votes = max(summary.votes, mention.engagement.reposts)
        else:
            summary.reposts = max(summary.reposts, mention.engagement.reposts)
        audience = _audience(mention.author.followers, influencer)
        if summary.count == 1 or audience > _audience(
            summary.top_followers, summary.top_influencer
        ):
            summary.top_author = mention.author.handle
            summary.top_example = example_of(scored)
            summary.top_followers = mention.author.followers
            summary.top_influencer = influencer
        kept = len(summary.refs) < MAX_REFS_PER_BIN
        if kept:
            summary.refs.append(mention.key)
        for theme in themes_of(scored):
            summary.themes[theme] = summary.themes.get(theme, 0) + 1
        self.last_mention_at = max(self.last_mention_at, mention.created_at)
        return kept

    def close(self) -> GroupReading:
        """Close the current bin (its end is ``bin_start + BIN``) and read the last hour."""
        # the hour's usual count as it stood before this bin: a mean over about a day, not the
        # median-like level of the last hour, which falls to nothing after a few quiet hours
        usual = self.detector.usual_window
        reading = self.detector.update(self.current.count)
        self.closed.append(self.current)
        self.current = BinSummary()
        self.bin_start += BIN
        hour = list(self.closed)
        negative = sum(b.count for b in hour)
        top = max(hour, key=lambda b: (*_audience(b.top_followers, b.top_influencer), b.count))
        inputs = RiskInputs(
            window="1 h",
            negative=negative,
            usual=usual,
            surprise=reading.surprise,
            mean_negativity=sum(b.negativity for b in hour) / negative if negative else 0.0,
            top_author=top.top_author,
            top_followers=top.top_followers,
            top_is_influencer=top.top_influencer,
            reposts=max(b.reposts for b in hour),
            votes=max(b.votes for b in hour),
            # without negative mentions in the hour the group has nothing left to spread
            predicted_reposts=max(b.predicted for b in hour) if negative else 0.0,
        )
        self.last = GroupReading(self.bin_start, assess(inputs), reading.burst, negative)
        return self.last

    def consume(self) -> None:
        """The hour's mentions have been dealt with (their incident was resolved): they no
        longer count in the group's volume, mentions or themes; the detector keeps what it
        learnt (for up to an hour its surprise still remembers them)."""
        self.closed = deque((BinSummary() for _ in self.closed), maxlen=WINDOW_BINS)
        self.current = BinSummary()

    def resume_at(self, start: datetime) -> None:
        """Go on after a time nobody heard: the hour stays as it was (nothing is known of the
        gap, so it is neither calm nor storm) and bins start again at ``start``."""
        self.bin_start = start

    def skip_to(self, start: datetime) -> None:
        """Jump over a long gap: the hour empties, the baseline does not learn the gap."""
        self.bin_start = start
        self.current = BinSummary()
        self.closed.clear()

    @property
    def predicted_reposts(self) -> float:
        """The largest final reposts predicted for the group's posts within the hour."""
        return max(b.predicted for b in (*self.closed, self.current))

    def note_prediction(self, reposts: float) -> None:
        """Note a prediction (``IncidentEngine.note_spread``). It is kept with the current bin
        and leaves with it, an hour later unless noted again; a lower one noted meanwhile (a
        partial re-read) does not erase it."""
        self.current.predicted = max(self.current.predicted, reposts)

    def note_votes(self, votes: int) -> None:
        """Note the upvotes read on a post (its score or points, the most read so far); kept
        like a prediction."""
        self.current.votes = max(self.current.votes, votes)

    @property
    def negative_last_hour(self) -> int:
        return sum(b.count for b in self.closed) + self.current.count

    def recent_refs(self) -> list[MentionRef]:
        return [ref for b in (*self.closed, self.current) for ref in b.refs]

    def recent_since(self, moment: datetime) -> list[BinSummary]:
        """The hour's bins that end after ``moment`` (the current one included)."""
        bins = [*self.closed, self.current]
        end = self.bin_start + BIN  # the current bin's end; each earlier one ends a bin before
        ends = [end - (len(bins) - 1 - n) * BIN for n in range(len(bins))]
        return [b for b, bin_end in zip(bins, ends, strict=True) if bin_end > moment]

    def trend(self) -> tuple[int, ...]:
        """Negative mentions per bin over the last hour, oldest first."""
        return tuple(b.count for b in self.closed)

    def top_examples(self, count: int = 3) -> list[dict[str, Any]]:
        examples = [b.top_example for b in (*self.closed, self.current) if b.top_example]
        return sorted(examples, key=lambda e: -int(e["followers"]))[:count]

    def recent_themes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for summary in (*self.closed, self.current):
            for theme, count in summary.themes.items():
                counts[theme] = counts.get(theme, 0) + count
        return counts

    def idle(self, now: datetime, after: timedelta) -> bool:
        return now - self.last_mention_at > after and self.negative_last_hour == 0

    def state(self) -> dict[str, Any]:
        return {
            "key": list(self.key),
            "detector": self.detector.state(),
            "bin_start": self.bin_start.isoformat(),
            "current": _summary_state(self.current),
            "closed": [_summary_state(b) for b in self.closed],
            "last_mention_at": self.last_mention_at.isoformat(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GroupRisk:
        brand, topic = state["key"]
        group = cls((str(brand), str(topic)), _instant(state["bin_start"]))
        group.detector = BurstDetector.from_state(state["detector"])
        group.current = _summary(state["current"])
        group.closed.extend(_summary(b) for b in state["closed"])
        group.last_mention_at = _instant(state["last_mention_at"])
        # an older state's "predicted_reposts" is dropped: the next refresh notes it again if
        # its post is still travelling
        return group


def _audience(followers: int, influencer: bool) -> tuple[float, int, bool]:
    """How a post ranks as the hour's top post: by the reach risk counts, then followers."""
    return reach_fraction(followers, influencer), followers, influencer


def _summary_state(summary: BinSummary) -> dict[str, Any]:
    """A bin as JSON-able values (what ``asdict`` gives, without its deep copies: the state is
    serialised at once, on every batch, so this is on the hot path)."""
    return {
        "count": summary.count,
        "negativity": summary.negativity,
        "top_author": summary.top_author,
        "top_example": dict(summary.top_example),
        "top_followers": summary.top_followers,
        "top_influencer": summary.top_influencer,
        "reposts": summary.reposts,
        "votes": summary.votes,
        "predicted": summary.predicted,
        "refs": list(summary.refs),
        "themes": dict(summary.themes),
    }


def _summary(data: dict[str, Any]) -> BinSummary:
    """A saved bin, its numbers checked (ValueError or TypeError on a wrong one: a string count
    would fail later, in the middle of the bin arithmetic)."""
    fields = dict(data)
    refs = [(str(source), str(native)) for source, native in fields.pop("refs", [])]
    summary = BinSummary(**fields, refs=refs)
    for name in ("count", "top_followers", "reposts", "votes"):
        setattr(summary, name, _whole(getattr(summary, name)))
    for name in ("negativity", "predicted"):
        setattr(summary, name, float(getattr(summary, name)))
    summary.themes = {str(theme): _whole(n) for theme, n in summary.themes.items()}
    return summary


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a count")
    return int(value)


def _instant(text: Any) -> datetime:
    """A saved time, which is always in UTC (ValueError for one without an offset)."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return at
