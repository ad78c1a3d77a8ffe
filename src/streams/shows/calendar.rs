//! The iCalendar feeds (RFC 5545, written by the `icalendar` crate): every occurrence of the
//! shows in the next weeks as its own event, in UTC, so any calendar shows the right instants
//! whatever it knows of time zones.

use chrono::{DateTime, TimeDelta, Utc};
use icalendar::{Calendar, Component, Event, EventLike};

use crate::{
    db::models::{Show, Stream},
    error::Result,
    timetable::Schedule,
    urls::Urls,
};

/// How far ahead a feed looks.
const AHEAD: TimeDelta = TimeDelta::weeks(12);

/// A calendar named `name` of `shows` (each with its stream).
pub fn feed(
    name: &str,
    shows: &[(Show, Stream)],
    urls: &Urls,
    now: DateTime<Utc>,
) -> Result<String> {
    let mut calendar = Calendar::new();
    calendar.name(name);
    let host = urls.authority();
    for (show, stream) in shows {
        let page = urls.stream(&stream.handle);
        let description = match show.description.as_str() {
            "" => format!("On {} ({page})", stream.shown_name()),
            d => format!("{d}\n\nOn {} ({page})", stream.shown_name()),
        };
        let Some(schedule) = Schedule::of_stored(show) else {
            continue;
        };
        for at in schedule.between(now - TimeDelta::days(1), now + AHEAD) {
            calendar.push(
                Event::new()
                    .uid(&format!(
                        "show-{}-{}@{host}",
                        show.id,
                        at.start.format("%Y%m%dT%H%MZ")
                    ))
                    .summary(&show.title)
                    .description(&description)
                    .location(page.as_str())
                    .url(urls.show(show.id).as_str())
                    .starts(at.start)
                    .ends(at.end)
                    .timestamp(show.updated_at.and_utc())
                    .done(),
            );
        }
    }
    Ok(calendar.done().to_string())
}
