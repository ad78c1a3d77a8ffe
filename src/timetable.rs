//! When a scheduled show is, as instants: its wall-clock start in its own zone, once or every week, minus
//! the skipped dates. A weekly 20:00 in Europe/Berlin is 19:00 UTC in winter and 18:00 UTC in
//! summer; a start that falls in the spring-forward gap moves on by the gap, and one in the
//! autumn's repeated hour takes the first of the two. A show's length is counted on the same
//! wall clock: a weekly 01:00 to 03:00 ends at 03:00 every week, three hours on the night the
//! clocks go back.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{
    db::models::Show,
    error::{Error, Result},
};

/// Weeks looked at, at most, when walking a weekly show (ten years).
const HORIZON_WEEKS: u64 = 520;

/// One occurrence, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Occurrence {
    /// Whether the two share any instant.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A show's times, read from its row.
#[derive(Debug, Clone)]
pub struct Schedule {
    starts_local: NaiveDateTime,
    duration: TimeDelta,
    zone: Tz,
    weekly: bool,
    exceptions: Vec<NaiveDate>,
}

/// An IANA zone name; anything else is refused with an example.
pub fn zone(name: &str) -> Result<Tz> {
    name.trim().parse::<Tz>().map_err(|_| {
        Error::Invalid(format!(
            "{name:?} is not a time zone; give an IANA name such as Europe/Berlin or America/New_York"
        ))
    })
}

/// The instant a wall-clock time in `zone` means.
pub fn instant(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // In the gap of a spring-forward change: the same wall time an hour on exists.
        LocalResult::None => instant(local + TimeDelta::hours(1), zone),
    }
}

impl Schedule {
    pub fn of(show: &Show) -> Result<Self> {
        Ok(Self {
            starts_local: show.starts_local,
            duration: TimeDelta::minutes(i64::from(show.duration_minutes)),
            zone: zone(&show.time_zone)?,
            weekly: show.weekly,
            exceptions: show
                .exceptions
                .split(',')
                .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .collect(),
        })
    }

    /// A stored show's schedule, or `None` (with a warning naming it) when its zone is no
    /// longer known: lists go on without it rather than failing whole.
    pub fn of_stored(show: &Show) -> Option<Self> {
        Self::of(show)
            .inspect_err(|_| {
                tracing::warn!(show = show.id, zone = %show.time_zone, "show skipped: unknown time zone");
            })
            .ok()
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    fn at(&self, local: NaiveDateTime) -> Occurrence {
        let start = instant(local, self.zone);
        let end = instant(local + self.duration, self.zone).max(start + TimeDelta::minutes(1));
        Occurrence { start, end }
    }

    /// The first occurrence (a skipped date included: it is where the schedule starts).
    pub fn first(&self) -> Occurrence {
        self.at(self.starts_local)
    }

    /// The occurrences that end after `from` and start before `to`, in order.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        if !self.weekly {
            let only = self.first();
            return if only.end > from && only.start < to {
                vec![only]
            } else {
                Vec::new()
            };
        }
        // Start a week before `from` (in local days) so that one running across it is kept.
        let from_local = from.with_timezone(&self.zone).date_naive();
        let weeks_before = (from_local - self.starts_local.date()).num_days().max(0) / 7;
        let skip = u64::try_from(weeks_before.saturating_sub(1)).unwrap_or(0);
        let mut out = Vec::new();
        for week in skip..skip + HORIZON_WEEKS {
            let Some(local) = self.starts_local.checked_add_days(Days::new(week * 7)) else {
                break;
            };
            let at = self.at(local);
            if at.start >= to {
                break;
            }
            if at.end > from && !self.exceptions.contains(&local.date()) {
                out.push(at);
            }
        }
        out
    }

    /// The occurrence that starts at `start`, if one does.
    pub fn occurrence_at(&self, start: DateTime<Utc>) -> Option<Occurrence> {
        self.between(start, start + TimeDelta::seconds(1))
            .into_iter()
            .find(|o| o.start == start)
    }

    /// The occurrence running now or the next one, if any is left.
    pub fn next(&self, now: DateTime<Utc>) -> Option<Occurrence> {
        let horizon = now + TimeDelta::weeks(HORIZON_WEEKS as i64);
        self.between(now, horizon).into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(start: &str, zone: &str, weekly: bool, exceptions: &str) -> Schedule {
        Schedule {
            starts_local: NaiveDateTime::parse_from_str(start, "%Y-%m-%d %H:%M").unwrap(),
            duration: TimeDelta::minutes(60),
            zone: zone.parse().unwrap(),
            weekly,
            exceptions: exceptions
                .split(',')
                .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .collect(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_weekly_show_keeps_its_wall_clock_time_across_daylight_saving() {
        // Saturdays 20:00 in Berlin; summer time ends on Sunday 2026-10-25.
        let s = show("2026-10-17 20:00", "Europe/Berlin", true, "");
        let got = s.between(utc("2026-10-17T00:00:00Z"), utc("2026-11-01T00:00:00Z"));
        let starts: Vec<String> = got.iter().map(|o| o.start.to_rfc3339()).collect();
        assert_eq!(
            starts,
            [
                "2026-10-17T18:00:00+00:00",
                "2026-10-24T18:00:00+00:00",
                "2026-10-31T19:00:00+00:00"
            ]
        );
        // And back in spring (2027-03-28).
        let spring = s.between(utc("2027-03-20T00:00:00Z"), utc("2027-04-04T00:00:00Z"));
        assert_eq!(spring[0].start, utc("2027-03-20T19:00:00Z"));
        assert_eq!(spring[1].start, utc("2027-03-27T19:00:00Z"));
        assert_eq!(spring[2].start, utc("2027-04-03T18:00:00Z"));
    }

    #[test]
    fn skipped_dates_and_the_running_occurrence() {
        let s = show("2026-12-03 20:00", "UTC", true, "2026-12-24");
        let got = s.between(utc("2026-12-17T20:30:00Z"), utc("2027-01-01T00:00:00Z"));
        let starts: Vec<String> = got.iter().map(|o| o.start.to_rfc3339()).collect();
        // 12-17 is running at 20:30; 12-24 is skipped; 12-31 is next.
        assert_eq!(
            starts,
            ["2026-12-17T20:00:00+00:00", "2026-12-31T20:00:00+00:00"]
        );
        assert_eq!(
            s.next(utc("2026-12-17T21:00:00Z")).unwrap().start,
            utc("2026-12-31T20:00:00Z")
        );
        let once = show("2026-12-03 20:00", "UTC", false, "");
        assert!(once.next(utc("2026-12-03T21:00:01Z")).is_none());
    }

    #[test]
    fn wall_times_in_a_gap_or_twice_have_one_instant() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let gap = NaiveDateTime::parse_from_str("2027-03-28 02:30", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(instant(gap, berlin), utc("2027-03-28T01:30:00Z"));
        let twice = NaiveDateTime::parse_from_str("2026-10-25 02:30", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(instant(twice, berlin), utc("2026-10-25T00:30:00Z"));
        assert!(zone("Mars/Olympus").is_err());
    }

    #[test]
    fn a_weekly_show_ends_at_its_wall_clock_end_on_the_night_clocks_change() {
        // Sundays 01:00 to 03:00 in Berlin: summer time ends at 03:00 on 2026-10-25.
        let mut s = show("2026-10-18 01:00", "Europe/Berlin", true, "");
        s.duration = TimeDelta::minutes(120);
        let got = s.between(utc("2026-10-17T00:00:00Z"), utc("2026-11-02T00:00:00Z"));
        let spans: Vec<(String, i64)> = got
            .iter()
            .map(|o| (o.start.to_rfc3339(), (o.end - o.start).num_minutes()))
            .collect();
        assert_eq!(
            spans,
            [
                ("2026-10-17T23:00:00+00:00".to_owned(), 120),
                ("2026-10-24T23:00:00+00:00".to_owned(), 180),
                ("2026-11-01T00:00:00+00:00".to_owned(), 120),
            ]
        );
    }
}
