//! AWS cron expressions as AWS Backup accepts them: `cron(Minutes Hours Day-of-month Month
//! Day-of-week Year)`, with `?` in one of the day fields, and the effective frequency of a
//! schedule (the longest gap between two runs).

use std::collections::BTreeSet;

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minute: u8,
    hours: BTreeSet<u8>,
    day_of_month: DayOfMonth,
    months: BTreeSet<u8>,
    day_of_week: DayOfWeek,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfMonth {
    Any,
    Days(BTreeSet<u8>),
    Last,
    /// `nW`: the weekday nearest day n.
    NearestWeekday(u8),
    /// `LW`: the last weekday of the month.
    LastWeekday,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    /// 1 = Sunday … 7 = Saturday.
    Days(BTreeSet<u8>),
    /// `dL`: the last such weekday of the month.
    Last(u8),
    /// `d#k`: the k-th such weekday of the month.
    Nth(u8, u8),
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses `cron(...)`; the error says which field is wrong.
pub fn parse(expression: &str) -> Result<Cron, String> {
    let inner = expression
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("{expression:?} is not of the form cron(Minutes Hours Day-of-month Month Day-of-week Year)"))?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "{expression:?} has {} fields; AWS cron has 6 (Minutes Hours Day-of-month Month Day-of-week Year)",
            fields.len()
        ));
    }
    let minute: u8 = fields[0]
        .parse()
        .ok()
        .filter(|m| *m <= 59)
        .ok_or_else(|| format!("minutes {:?} must be one number 0-59: AWS Backup runs a rule at most once an hour", fields[0]))?;
    let hours = values(fields[1], 0, 23, &[]).map_err(|e| format!("hours: {e}"))?;
    let months = values(fields[3], 1, 12, &MONTHS).map_err(|e| format!("month: {e}"))?;
    values(fields[5], 1970, 2199, &[]).map_err(|e| format!("year: {e}"))?;
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Err("exactly one of day-of-month and day-of-week must be ?".to_string());
    }
    let day_of_month = match dom {
        "?" => DayOfMonth::Any,
        "L" => DayOfMonth::Last,
        "LW" => DayOfMonth::LastWeekday,
        _ if dom.ends_with('W') => {
            let day = dom[..dom.len() - 1].parse().ok().filter(|d| (1..=31).contains(d));
            DayOfMonth::NearestWeekday(day.ok_or_else(|| format!("day-of-month {dom:?}: nW needs a day 1-31"))?)
        }
        _ => DayOfMonth::Days(values(dom, 1, 31, &[]).map_err(|e| format!("day-of-month: {e}"))?),
    };
    let day_of_week = match dow {
        "?" => DayOfWeek::Any,
        _ if dow.contains('#') => {
            let (day, nth) = dow.split_once('#').unwrap_or_default();
            let day = single(day, 1, 7, &DAYS);
            let nth: Option<u8> = nth.parse().ok().filter(|n| (1..=5).contains(n));
            match (day, nth) {
                (Some(d), Some(n)) => DayOfWeek::Nth(d, n),
                _ => return Err(format!("day-of-week {dow:?}: d#k needs a day 1-7 (or SUN-SAT) and k 1-5")),
            }
        }
        _ if dow.len() > 1 && dow.ends_with('L') => DayOfWeek::Last(
            single(&dow[..dow.len() - 1], 1, 7, &DAYS).ok_or_else(|| format!("day-of-week {dow:?}: dL needs a day 1-7 (or SUN-SAT)"))?,
        ),
        _ => DayOfWeek::Days(values(dow, 1, 7, &DAYS).map_err(|e| format!("day-of-week: {e}"))?),
    };
    Ok(Cron { minute, hours, day_of_month, months, day_of_week })
}

fn single(text: &str, min: u16, max: u16, names: &[&str]) -> Option<u8> {
    let upper = text.to_ascii_uppercase();
    let n = match names.iter().position(|n| *n == upper) {
        Some(i) => i as u16 + min,
        None => text.parse().ok()?,
    };
    (min..=max).contains(&n).then_some(n as u8)
}

/// Values of a list field (`*`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n`, comma separated). Years do
/// not fit in u8; they are only checked (the frequency ignores them).
fn values(field: &str, min: u16, max: u16, names: &[&str]) -> Result<BTreeSet<u8>, String> {
    let mut out = BTreeSet::new();
    for item in field.split(',') {
        let bad = || format!("{item:?} is not *, a value, a range or a step within {min}-{max}");
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u16>().ok().filter(|s| *s >= 1).ok_or_else(bad)?),
            None => (item, 1),
        };
        let number = |t: &str| -> Result<u16, String> {
            let upper = t.to_ascii_uppercase();
            let n = match names.iter().position(|n| *n == upper) {
                Some(i) => i as u16 + min,
                None => t.parse().map_err(|_| bad())?,
            };
            if (min..=max).contains(&n) { Ok(n) } else { Err(bad()) }
        };
        let (from, to) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None if item.contains('/') => (number(range)?, max),
                None => {
                    let n = number(range)?;
                    (n, n)
                }
            },
        };
        if from > to {
            return Err(bad());
        }
        if max <= 255 {
            out.extend((from..=to).step_by(step as usize).map(|v| v as u8));
        }
    }
    Ok(out)
}

/// Days of schedule the measurements walk: two years, so yearly and leap-day rules count.
const SAMPLE_DAYS: u32 = 731;

impl Cron {
    /// The most runs in any `days`-day window: how many recovery points a rule with this
    /// schedule and that retention holds at most. Measured over two years (2025-2026);
    /// longer windows are extrapolated from the two years' count.
    pub fn max_runs_within(&self, days: u32) -> u32 {
        let runs = self.run_hours(SAMPLE_DAYS);
        let window = u64::from(days) * 24;
        let sample = u64::from(SAMPLE_DAYS) * 24;
        if window >= sample {
            return u32::try_from((runs.len() as u64 * window).div_ceil(sample)).unwrap_or(u32::MAX);
        }
        let mut most = 0;
        let mut first = 0;
        for (last, at) in runs.iter().enumerate() {
            while u64::from(*at) >= u64::from(runs[first]) + window {
                first += 1;
            }
            most = most.max(last + 1 - first);
        }
        u32::try_from(most).unwrap_or(u32::MAX)
    }

    /// The hours (from 2025-01-01 00:00) at which the schedule runs within `days` days.
    fn run_hours(&self, days: u32) -> Vec<u32> {
        let start = jiff::civil::date(2025, 1, 1);
        let mut runs = Vec::new();
        for day_index in 0..days {
            let Ok(date) = start.checked_add(jiff::Span::new().days(i64::from(day_index))) else { break };
            if self.runs_on(date) {
                runs.extend(self.hours.iter().map(|hour| day_index * 24 + u32::from(*hour)));
            }
        }
        runs
    }

    /// The longest gap between two consecutive runs over two years, in hours; None when the
    /// schedule runs less than twice in that time.
    pub fn max_gap_hours(&self) -> Option<u32> {
        let start = jiff::civil::date(2025, 1, 1);
        let mut last: Option<u32> = None;
        let mut gap = 0u32;
        for day_index in 0..731u32 {
            let Ok(date) = start.checked_add(jiff::Span::new().days(i64::from(day_index))) else { break };
            if !self.runs_on(date) {
                continue;
            }
            for hour in &self.hours {
                let at = day_index * 24 + u32::from(*hour);
                if let Some(previous) = last {
                    gap = gap.max(at - previous);
                }
                last = Some(at);
            }
        }
        (gap > 0).then_some(gap)
    }

    fn runs_on(&self, date: jiff::civil::Date) -> bool {
        if !self.months.contains(&(date.month() as u8)) {
            return false;
        }
        let day = date.day() as u8;
        let last_day = date.days_in_month() as u8;
        let weekday = date.weekday().to_sunday_one_offset() as u8;
        let is_weekday = (2..=6).contains(&weekday);
        let dom = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(days) => days.contains(&day),
            DayOfMonth::Last => day == last_day,
            // Approximation: the day itself when a weekday, else the nearest weekday in the month.
            DayOfMonth::NearestWeekday(n) => nearest_weekday(date, (*n).min(last_day)) == day,
            DayOfMonth::LastWeekday => is_weekday && (day + 1..=last_day).all(|d| !weekday_of(date, d)),
        };
        let dow = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(days) => days.contains(&weekday),
            DayOfWeek::Last(d) => weekday == *d && day + 7 > last_day,
            DayOfWeek::Nth(d, n) => weekday == *d && (day - 1) / 7 + 1 == *n,
        };
        dom && dow
    }
}

fn weekday_of(date: jiff::civil::Date, day: u8) -> bool {
    date.with().day(day as i8).build().map(|d| (2..=6).contains(&d.weekday().to_sunday_one_offset())).unwrap_or(false)
}

fn nearest_weekday(date: jiff::civil::Date, n: u8) -> u8 {
    let last = date.days_in_month() as u8;
    if weekday_of(date, n) {
        return n;
    }
    for delta in 1..=3u8 {
        if n > delta && weekday_of(date, n - delta) {
            return n - delta;
        }
        if n + delta <= last && weekday_of(date, n + delta) {
            return n + delta;
        }
    }
    n
}

/// A frequency in words: hourly, every 12 hours, daily, weekly, monthly, every 90 days.
pub fn describe_frequency(gap_hours: Option<u32>) -> String {
    match gap_hours {
        None => "less than twice in two years".to_string(),
        Some(1) => "hourly".to_string(),
        Some(h) if h < 24 => format!("every {h} hours"),
        Some(24) => "daily".to_string(),
        Some(168) => "weekly".to_string(),
        Some(h) if (672..=744).contains(&h) => "monthly".to_string(),
        Some(h) if h % 24 == 0 => format!("every {} days", h / 24),
        Some(h) => format!("every {h} hours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(expr: &str) -> Option<u32> {
        parse(expr).expect(expr).max_gap_hours()
    }

    #[test]
    fn common_schedules_have_their_frequency() {
        assert_eq!(gap("cron(0 5 ? * * *)"), Some(24));
        assert_eq!(gap("cron(0 */12 ? * * *)"), Some(12));
        assert_eq!(gap("cron(0 * ? * * *)"), Some(1));
        assert_eq!(gap("cron(30 2 ? * SUN *)"), Some(168));
        assert_eq!(gap("cron(0 5 1 * ? *)"), Some(31 * 24));
        assert_eq!(gap("cron(0 5 L * ? *)"), Some(31 * 24));
        assert_eq!(gap("cron(0 5 ? * 2#1 *)"), Some(35 * 24));
        assert_eq!(gap("cron(0 1,13 ? * MON-FRI *)"), Some(60));
        assert_eq!(describe_frequency(gap("cron(0 5 ? * * *)")), "daily");
        assert_eq!(describe_frequency(gap("cron(0 5 ? * 1 *)")), "weekly");
    }

    #[test]
    fn recovery_points_are_the_most_runs_in_any_retention_window() {
        let runs = |expr: &str, days: u32| parse(expr).expect(expr).max_runs_within(days);
        assert_eq!(runs("cron(0 5 ? * * *)", 35), 35);
        assert_eq!(runs("cron(0 */12 ? * * *)", 7), 14);
        assert_eq!(runs("cron(30 2 ? * SUN *)", 35), 5);
        // Weekdays twice a day: 10 runs in a week, whichever week.
        assert_eq!(runs("cron(0 1,13 ? * MON-FRI *)", 7), 10);
        // Feb 1 to May 1 is 89 days: four monthly points fit in 90.
        assert_eq!(runs("cron(0 5 1 * ? *)", 90), 4);
        // Longer than the two years walked: extrapolated, never fewer than a run a day.
        assert_eq!(runs("cron(0 5 ? * * *)", 3650), 3650);
    }

    #[test]
    fn malformed_schedules_say_what_is_wrong() {
        for bad in [
            "rate(1 day)",
            "cron(0 5 * * *)",
            "cron(0 5 * * * *)",
            "cron(0 5 ? * ? *)",
            "cron(* 5 ? * * *)",
            "cron(0/15 5 ? * * *)",
            "cron(0 24 ? * * *)",
            "cron(0 5 32 * ? *)",
            "cron(0 5 ? 13 * *)",
            "cron(0 5 ? * 8 *)",
            "cron(0 5 ? * MON#6 *)",
            "cron(0 5 ? * * 1969)",
            "cron(0 5-3 ? * * *)",
        ] {
            assert!(parse(bad).is_err(), "{bad} must be rejected");
        }
        for good in
            ["cron(0 5 ? * MON-FRI *)", "cron(15 0/6 ? JAN,JUL * 2030)", "cron(0 5 15W * ? *)", "cron(0 5 LW * ? *)", "cron(0 5 ? * 6L *)"]
        {
            assert!(parse(good).is_ok(), "{good} must be accepted");
        }
    }
}
