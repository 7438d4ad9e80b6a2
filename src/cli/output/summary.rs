//! The summary of a run over many account-regions (`frugal plan -f set.yaml`): one line per
//! account-region, then the totals.

use std::fmt::Write;

/// What one account-region's run came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub account: String,
    pub region: String,
    pub policy: String,
    /// Drift the plan found (before any change was made).
    pub drift: usize,
    /// Open findings after the run (status.findings).
    pub findings: u32,
    pub waste_cents: i64,
    pub savings_cents: i64,
    /// The run's first failure, as the error line says it.
    pub error: Option<String>,
}

/// The sums over the rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub rows: usize,
    pub failed: usize,
    pub with_drift: usize,
    pub drift: usize,
    pub findings: u64,
    pub waste_cents: i64,
    pub savings_cents: i64,
}

impl Totals {
    pub fn of(rows: &[Row]) -> Totals {
        rows.iter().fold(Totals::default(), |mut t, row| {
            t.rows += 1;
            t.failed += usize::from(row.error.is_some());
            t.with_drift += usize::from(row.drift > 0);
            t.drift += row.drift;
            t.findings += u64::from(row.findings);
            t.waste_cents += row.waste_cents;
            t.savings_cents += row.savings_cents;
            t
        })
    }
}

/// An amount in cents as dollars with two decimals, e.g. `$1234.50`.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}${}.{:02}", cents / 100, cents % 100)
}

/// A status amount (`"12.34"`) in cents; anything unreadable counts as nothing.
pub fn cents(amount: &str) -> i64 {
    amount.trim().parse::<f64>().ok().filter(|a| a.is_finite()).map_or(0, |a| (a * 100.0).round() as i64)
}

const HEADERS: [&str; 8] = ["ACCOUNT", "REGION", "POLICY", "DRIFT", "FINDINGS", "WASTE/MO", "SAVINGS/MO", "ERROR"];

/// The table: a header, one line per row in the order given, then the totals line.
pub fn table(rows: &[Row]) -> String {
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|row| {
            [
                row.account.clone(),
                row.region.clone(),
                row.policy.clone(),
                row.drift.to_string(),
                row.findings.to_string(),
                dollars(row.waste_cents),
                dollars(row.savings_cents),
                row.error.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = HEADERS.map(str::to_string);
    for line in std::iter::once(&header).chain(&cells) {
        let mut text = String::new();
        for (i, (cell, width)) in line.iter().zip(widths).enumerate() {
            // Names left-aligned, numbers right-aligned; the last column is not padded.
            match i {
                7 => text.push_str(cell),
                3..=6 => {
                    let _ = write!(text, "{cell:>width$}  ");
                }
                _ => {
                    let _ = write!(text, "{cell:<width$}  ");
                }
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
    let _ = writeln!(out, "{}", totals_line(&Totals::of(rows)));
    out
}

/// `Total: 6 account-regions, 4 with drift, 1 failed; drift 9, findings 9, waste $43.80/mo, savings $0.00/mo.`
pub fn totals_line(totals: &Totals) -> String {
    let plural = if totals.rows == 1 { "" } else { "s" };
    format!(
        "Total: {} account-region{plural}, {} with drift, {} failed; drift {}, findings {}, waste {}/mo, savings {}/mo.",
        totals.rows,
        totals.with_drift,
        totals.failed,
        totals.drift,
        totals.findings,
        dollars(totals.waste_cents),
        dollars(totals.savings_cents)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(account: &str, region: &str, drift: usize, waste_cents: i64, error: Option<&str>) -> Row {
        Row {
            account: account.into(),
            region: region.into(),
            policy: format!("prod-{account}-{region}"),
            drift,
            findings: u32::try_from(drift).unwrap_or(0),
            waste_cents,
            savings_cents: 0,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn one_aligned_line_per_account_region_then_the_totals() {
        let rows = [
            row("111122223333", "eu-west-1", 2, 1460, None),
            row("111122223333", "us-east-1", 0, 0, None),
            row("444455556666", "eu-west-1", 0, 0, Some("AssumeRole failed (access_denied): no")),
        ];
        assert_eq!(
            table(&rows),
            "\
ACCOUNT       REGION     POLICY                       DRIFT  FINDINGS  WASTE/MO  SAVINGS/MO  ERROR
111122223333  eu-west-1  prod-111122223333-eu-west-1      2         2    $14.60       $0.00  -
111122223333  us-east-1  prod-111122223333-us-east-1      0         0     $0.00       $0.00  -
444455556666  eu-west-1  prod-444455556666-eu-west-1      0         0     $0.00       $0.00  AssumeRole failed (access_denied): no
Total: 3 account-regions, 1 with drift, 1 failed; drift 2, findings 2, waste $14.60/mo, savings $0.00/mo.
"
        );
    }

    #[test]
    fn totals_add_every_row_and_count_the_failed_and_drifting_ones() {
        let rows = [row("1", "a", 3, 1001, None), row("1", "b", 1, 99, Some("x")), row("2", "a", 0, 0, None)];
        assert_eq!(
            Totals::of(&rows),
            Totals { rows: 3, failed: 1, with_drift: 2, drift: 4, findings: 4, waste_cents: 1100, savings_cents: 0 }
        );
        assert_eq!(
            totals_line(&Totals::of(&rows[..1])),
            "Total: 1 account-region, 1 with drift, 0 failed; drift 3, findings 3, waste $10.01/mo, savings $0.00/mo."
        );
        assert_eq!(
            table(&[]).lines().last(),
            Some("Total: 0 account-regions, 0 with drift, 0 failed; drift 0, findings 0, waste $0.00/mo, savings $0.00/mo.")
        );
    }

    #[test]
    fn amounts_are_summed_in_cents_so_they_add_up_exactly() {
        assert_eq!(cents("0.10") + cents("0.20"), 30);
        assert_eq!(cents("not a number"), 0);
        assert_eq!(dollars(123_450), "$1234.50");
        assert_eq!(dollars(-5), "-$0.05");
    }
}
