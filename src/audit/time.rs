//! Time as procedures measure it: business calendars (working hours in a time zone,
//! holidays, a cut-off after which calls count from the next working day) and clocks
//! that run on a calendar and pause in declared states.
//!
//! Working hours are local times, turned into instants day by day with the calendar's
//! time zone, so a day that changes to or from summer time has its true length.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ast;

/// A business calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    tz: Tz,
    /// Opening hours per weekday (Monday first), as local (open, close) pairs.
    hours: [Vec<(NaiveTime, NaiveTime)>; 7],
    holidays: BTreeSet<NaiveDate>,
    cutoff: Option<NaiveTime>,
    /// Open all day, every day: working time is wall time.
    always_open: bool,
    /// Unique to this calendar's content (clones share it), for remembering days.
    id: usize,
}

fn next_id() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The longest span a calendar walks, in days, so that a bad input cannot loop for long.
const MAX_DAYS: i64 = 3660;

fn parse_time(s: &str) -> Option<NaiveTime> {
    if s == "24:00" {
        return NaiveTime::from_hms_opt(23, 59, 59);
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

fn weekday(s: &str) -> Option<usize> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| *d == s)
}

impl Calendar {
    /// Reads a calendar declaration. Errors name what is wrong (an unknown time zone).
    pub fn from_ast(c: &ast::Calendar) -> Result<Calendar, String> {
        let mut cal = Calendar {
            name: c.name.text.clone(),
            tz: Tz::UTC,
            hours: Default::default(),
            holidays: BTreeSet::new(),
            cutoff: None,
            always_open: false,
            id: next_id(),
        };
        for item in &c.items {
            match item {
                ast::CalendarItem::Timezone(z) => {
                    cal.tz = z.value.parse::<Tz>().map_err(|_| {
                        format!(
                            "calendar `{}`: unknown time zone `{}` (use an IANA name such as Europe/London)",
                            c.name.text, z.value
                        )
                    })?;
                }
                ast::CalendarItem::Hours {
                    from_day,
                    to_day,
                    open,
                    close,
                    ..
                } => {
                    let (Some(a), Some(o), Some(cl)) =
                        (weekday(&from_day.text), parse_time(open), parse_time(close))
                    else {
                        continue;
                    };
                    let b = to_day.as_ref().and_then(|d| weekday(&d.text)).unwrap_or(a);
                    let mut d = a;
                    loop {
                        cal.hours[d].push((o, cl));
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                ast::CalendarItem::Holiday { date, .. } => {
                    if let ast::Literal::Date(text) = date
                        && let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    {
                        cal.holidays.insert(d);
                    }
                }
                ast::CalendarItem::Cutoff { after, .. } => cal.cutoff = parse_time(after),
            }
        }
        for h in &mut cal.hours {
            h.sort();
        }
        Ok(cal)
    }

    /// A calendar open all day, every day, in UTC.
    pub fn always() -> Calendar {
        let all = vec![(
            NaiveTime::MIN,
            NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
        )];
        Calendar {
            name: "24/7".into(),
            tz: Tz::UTC,
            hours: std::array::from_fn(|_| all.clone()),
            holidays: BTreeSet::new(),
            cutoff: None,
            always_open: true,
            id: next_id(),
        }
    }

    fn is_working_day(&self, d: NaiveDate) -> bool {
        !self.holidays.contains(&d)
            && !self.hours[d.weekday().num_days_from_monday() as usize].is_empty()
    }

    fn local(&self, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        let naive = d.and_time(t);
        match self.tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
            // An hour repeated when clocks go back: the first of the two.
            chrono::LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
            // An hour skipped when clocks go forward: the same wall time an hour later.
            chrono::LocalResult::None => self
                .tz
                .from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
                .map_or_else(|| naive.and_utc(), |x| x.with_timezone(&Utc)),
        }
    }

    /// The working intervals of one local day, as instants (remembered per thread: the
    /// cases of a log fall on the same few days again and again).
    fn intervals(&self, d: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        type Key = (usize, NaiveDate);
        type Days = std::collections::HashMap<Key, Vec<(DateTime<Utc>, DateTime<Utc>)>>;
        thread_local! {
            static DAYS: std::cell::RefCell<Days> = Default::default();
        }
        let key = (self.id, d);
        if let Some(hit) = DAYS.with(|c| c.borrow().get(&key).cloned()) {
            return hit;
        }
        let v = self.compute_intervals(d);
        DAYS.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() > 20_000 {
                c.clear();
            }
            c.insert(key, v.clone());
        });
        v
    }

    fn compute_intervals(&self, d: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&d) {
            return Vec::new();
        }
        let day = &self.hours[d.weekday().num_days_from_monday() as usize];
        let next = d.succ_opt().unwrap_or(d);
        day.iter()
            .map(|&(o, c)| {
                let close = if c == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(c) {
                    self.local(next, NaiveTime::MIN)
                } else if c <= o {
                    // An overnight shift (`22:00-06:00`) closes the next morning.
                    self.local(next, c)
                } else {
                    self.local(d, c)
                };
                (self.local(d, o), close)
            })
            .collect()
    }

    fn date_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Where a calendar's clock starts for something that happened at `t`: after the
    /// cut-off, the next working day's opening.
    pub fn start_for(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let Some(cut) = self.cutoff else { return t };
        let local = t.with_timezone(&self.tz);
        // "After the cut-off" is strictly after: the cut-off instant itself counts today.
        if local.time() <= cut {
            return t;
        }
        let mut d = local.date_naive();
        for _ in 0..MAX_DAYS {
            d = match d.succ_opt() {
                Some(n) => n,
                None => return t,
            };
            if self.is_working_day(d)
                && let Some(&(o, _)) = self.intervals(d).first()
            {
                return o;
            }
        }
        t
    }

    /// Working time between `a` and `b`, in milliseconds (0 when `b` is not after `a`).
    pub fn working_ms(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        if self.always_open {
            return (b - a).num_milliseconds();
        }
        let mut total = 0i64;
        let mut d = self.date_of(a).pred_opt().unwrap_or(self.date_of(a));
        let last = self.date_of(b).succ_opt().unwrap_or(self.date_of(b));
        let mut n = 0;
        while d <= last && n < MAX_DAYS {
            for (o, c) in self.intervals(d) {
                let (s, e) = (o.max(a), c.min(b));
                if e > s {
                    total += (e - s).num_milliseconds();
                }
            }
            d = match d.succ_opt() {
                Some(x) => x,
                None => break,
            };
            n += 1;
        }
        total
    }

    /// The instant at which `ms` of working time has passed since `a`.
    pub fn advance(&self, a: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
        if self.always_open {
            return a + Duration::milliseconds(ms.max(0));
        }
        let mut left = ms.max(0);
        let mut d = self.date_of(a).pred_opt().unwrap_or(self.date_of(a));
        for _ in 0..MAX_DAYS {
            for (o, c) in self.intervals(d) {
                let s = o.max(a);
                if c <= s {
                    continue;
                }
                let len = (c - s).num_milliseconds();
                if len >= left {
                    return s + Duration::milliseconds(left);
                }
                left -= len;
            }
            d = match d.succ_opt() {
                Some(x) => x,
                None => break,
            };
        }
        a + Duration::milliseconds(ms)
    }
}

/// A clock: a calendar and the intervals in which it is paused.
#[derive(Debug, Clone)]
pub struct Running<'c> {
    pub calendar: &'c Calendar,
    /// Paused intervals, sorted and disjoint (an open pause runs to the end of time).
    pub pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

impl Running<'_> {
    /// Clock time between `a` and `b` in milliseconds: working time minus pauses.
    pub fn elapsed_ms(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        let a = self.calendar.start_for(a);
        let mut total = self.calendar.working_ms(a, b);
        for &(ps, pe) in &self.pauses {
            let pe = pe.unwrap_or(b);
            let (s, e) = (ps.max(a), pe.min(b));
            if e > s {
                total -= self.calendar.working_ms(s, e);
            }
        }
        total.max(0)
    }

    /// The instant at which the clock has run `ms` since `a`.
    pub fn due(&self, a: DateTime<Utc>, ms: i64) -> Option<DateTime<Utc>> {
        let mut t = self.calendar.advance(self.calendar.start_for(a), ms);
        if self.pauses.is_empty() {
            return Some(t);
        }
        // Each pause that starts before the due time pushes it on by its working length.
        for _ in 0..=self.pauses.len() {
            let used = self.elapsed_ms(a, t);
            if used >= ms {
                return Some(t);
            }
            if self.pauses.iter().any(|&(s, e)| s <= t && e.is_none()) {
                return None;
            }
            t = self.calendar.advance(t, ms - used);
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(text: &str) -> Calendar {
        let src = format!("library t \"t\"\ncalendar c\n{text}\n");
        let parsed =
            crate::ast::lower(&crate::source::SourceFile::new("t.proc", src)).expect("parses");
        let c = parsed
            .file
            .sections
            .iter()
            .find_map(|s| match s {
                crate::ast::Section::Calendar(c) => Some(c.clone()),
                _ => None,
            })
            .expect("calendar");
        Calendar::from_ast(&c).expect("valid")
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn holidays_and_weekends_are_skipped_and_the_cutoff_moves_the_start() {
        let c = cal(
            "  timezone \"Europe/London\"\n  hours mon-fri 09:00-17:00\n  holiday 2026-12-25\n  calls after 16:30 count as next working day",
        );
        // Thursday 24 December 16:00 to Monday 28 December 10:00: 1h + 1h (Friday is a holiday).
        let a = t("2026-12-24T16:00:00Z");
        assert_eq!(c.working_ms(a, t("2026-12-28T10:00:00Z")), 2 * 3_600_000);
        // 8 working hours from Thursday 16:00 end on Monday at 16:00.
        assert_eq!(c.advance(a, 8 * 3_600_000), t("2026-12-28T16:00:00Z"));
        // A call at 16:45 on Thursday counts from Monday 09:00.
        assert_eq!(
            c.start_for(t("2026-12-24T16:45:00Z")),
            t("2026-12-28T09:00:00Z")
        );
    }

    #[test]
    fn a_pause_across_a_weekend_takes_only_its_working_hours() {
        let c = cal("  timezone \"Europe/London\"\n  hours mon-fri 09:00-17:00");
        let clock = Running {
            calendar: &c,
            // On hold from Friday 10:00 to Monday 12:00.
            pauses: vec![(t("2026-03-06T10:00:00Z"), Some(t("2026-03-09T12:00:00Z")))],
        };
        // Friday 09:00 to Monday 15:00 is 14 working hours, 10 of them paused.
        assert_eq!(
            clock.elapsed_ms(t("2026-03-06T09:00:00Z"), t("2026-03-09T15:00:00Z")),
            4 * 3_600_000
        );
        // 8 hours of clock from Friday 09:00: 1h on Friday, 5h on Monday after the pause,
        // and the last 2h on Tuesday, due at 11:00.
        assert_eq!(
            clock.due(t("2026-03-06T09:00:00Z"), 8 * 3_600_000),
            Some(t("2026-03-10T11:00:00Z"))
        );
    }

    #[test]
    fn an_overnight_shift_closes_the_next_morning() {
        let c = cal("  timezone \"UTC\"\n  hours mon-sun 22:00-06:00");
        assert_eq!(
            c.working_ms(t("2026-03-02T21:00:00Z"), t("2026-03-03T07:00:00Z")),
            8 * 3_600_000
        );
    }

    #[test]
    fn a_working_day_across_the_spring_change_is_still_ten_hours() {
        // Clocks go forward at 01:00 UTC on Sunday 29 March 2026 in Europe/London.
        let c = cal("  timezone \"Europe/London\"\n  hours mon-sun 08:00-18:00");
        // Saturday 08:00 GMT is 08:00 UTC; Sunday 08:00 BST is 07:00 UTC.
        assert_eq!(
            c.working_ms(t("2026-03-28T00:00:00Z"), t("2026-03-30T00:00:00Z")),
            20 * 3_600_000
        );
        assert_eq!(
            c.working_ms(t("2026-03-29T07:00:00Z"), t("2026-03-29T08:00:00Z")),
            3_600_000
        );
        // Sunday's day ends at 17:00 UTC (18:00 BST).
        assert_eq!(
            c.advance(t("2026-03-29T07:00:00Z"), 10 * 3_600_000),
            t("2026-03-29T17:00:00Z")
        );
    }
}
