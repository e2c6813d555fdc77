"""A user's calendar feed as an iCalendar document (RFC 5545), built with ``icalendar``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import icalendar

from crmphase.integrations.rules import CalendarEntry


def feed_document(
    entries: Sequence[CalendarEntry], *, stamp: datetime, base_url: str, timezone_name: str
) -> bytes:
    """The feed: one all-day ``VEVENT`` per entry (its day is a date in the installation's
    timezone, ``X-WR-TIMEZONE`` says which), each with its stable ``UID`` and ``DTSTAMP``."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//crmphase//calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "crmphase")
    calendar.add("x-wr-timezone", timezone_name)
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("url", base_url.rstrip("/") + entry.path)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
