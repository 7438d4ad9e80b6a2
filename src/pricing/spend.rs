//! What the account really paid, from AWS Cost Explorer (`ce:GetCostAndUsage`): the
//! unblended cost of the usage types the areas change, in the policy's region, for the last
//! full month and the month so far. Pure: the AWS adapter reads the rows.

use std::collections::BTreeMap;

use super::PriceItem;
use super::price_list::is_usage_type_of;

/// The two months Cost Explorer is asked about, as `[start, end)` dates (YYYY-MM-DD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Months {
    pub last_month: (String, String),
    /// Through today: `end` is tomorrow (Cost Explorer's end is exclusive).
    pub month_to_date: (String, String),
}

impl Months {
    /// The months around `today` (UTC).
    pub fn around(today: jiff::civil::Date) -> Months {
        let first = today.first_of_month();
        let previous = first.yesterday().map(|d| d.first_of_month()).unwrap_or(first);
        let tomorrow = today.tomorrow().unwrap_or(today);
        Months { last_month: (previous.to_string(), first.to_string()), month_to_date: (first.to_string(), tomorrow.to_string()) }
    }
}

/// One row of a Cost Explorer answer grouped by usage type.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendRow {
    /// The period's start (YYYY-MM-DD).
    pub start: String,
    pub usage_type: String,
    pub usd: f64,
    /// Cost Explorer says the period's figures may still change.
    pub estimated: bool,
}

/// One period's spend on each item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeriodSpend {
    pub start: String,
    pub end: String,
    pub estimated: bool,
    pub usd: BTreeMap<PriceItem, f64>,
}

/// The account's spend in the region, as Cost Explorer reported it on `read` (a UTC day).
#[derive(Clone, Debug, PartialEq)]
pub struct Spend {
    pub region: String,
    pub read: String,
    pub last_month: PeriodSpend,
    pub month_to_date: PeriodSpend,
}

impl Spend {
    /// Sums `rows` per item and period: a row counts for the item whose usage type it is
    /// (with the region's prefix), and only when it falls in one of the two months.
    pub fn from_rows(region: &str, read: &str, months: &Months, rows: &[SpendRow], items: &[PriceItem]) -> Spend {
        let mut last_month = PeriodSpend { start: months.last_month.0.clone(), end: months.last_month.1.clone(), ..PeriodSpend::default() };
        let mut month_to_date =
            PeriodSpend { start: months.month_to_date.0.clone(), end: months.month_to_date.1.clone(), ..PeriodSpend::default() };
        for period in [&mut last_month, &mut month_to_date] {
            for item in items {
                period.usd.insert(*item, 0.0);
            }
        }
        for row in rows {
            let period = if row.start == last_month.start {
                &mut last_month
            } else if row.start == month_to_date.start {
                &mut month_to_date
            } else {
                continue;
            };
            period.estimated |= row.estimated;
            if let Some(item) = items.iter().find(|item| is_usage_type_of(&row.usage_type, **item)) {
                *period.usd.entry(*item).or_default() += row.usd;
            }
        }
        Spend { region: region.to_string(), read: read.to_string(), last_month, month_to_date }
    }

    /// What the account paid for `items` in a period.
    pub fn total(period: &PeriodSpend, items: &[PriceItem]) -> f64 {
        items.iter().filter_map(|item| period.usd.get(item)).sum()
    }

    /// The basis of the measured figures: `AWS Cost Explorer, unblended cost in
    /// ap-northeast-2, read 2026-12-03`.
    pub fn basis(&self) -> String {
        format!("AWS Cost Explorer, unblended cost in {}, read {}", self.region, self.read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> jiff::civil::Date {
        text.parse().expect("a date")
    }

    #[test]
    fn the_months_are_the_last_full_one_and_this_one_through_today() {
        let months = Months::around(date("2026-12-03"));
        assert_eq!(months.last_month, ("2026-11-01".to_string(), "2026-12-01".to_string()));
        assert_eq!(months.month_to_date, ("2026-12-01".to_string(), "2026-12-04".to_string()));
        let new_year = Months::around(date("2027-01-01"));
        assert_eq!(new_year.last_month, ("2026-12-01".to_string(), "2027-01-01".to_string()));
        assert_eq!(new_year.month_to_date, ("2027-01-01".to_string(), "2027-01-02".to_string()));
    }

    #[test]
    fn rows_are_summed_per_item_and_month_and_the_rest_is_ignored() {
        let months = Months::around(date("2026-12-03"));
        let row = |start: &str, usage_type: &str, usd: f64, estimated: bool| SpendRow {
            start: start.to_string(),
            usage_type: usage_type.to_string(),
            usd,
            estimated,
        };
        let rows = [
            row("2026-11-01", "APN2-NatGateway-Bytes", 120.5, false),
            row("2026-11-01", "APN2-NatGateway-Hours", 43.9, false),
            row("2026-11-01", "APN2-EBS:SnapshotUsage", 10.0, false),
            row("2026-12-01", "APN2-NatGateway-Bytes", 7.25, true),
            row("2026-10-01", "APN2-NatGateway-Bytes", 999.0, false),
        ];
        let spend = Spend::from_rows("ap-northeast-2", "2026-12-03", &months, &rows, &[PriceItem::NatGatewayGb, PriceItem::LogsGbMonth]);
        assert_eq!(spend.last_month.usd, BTreeMap::from([(PriceItem::NatGatewayGb, 120.5), (PriceItem::LogsGbMonth, 0.0)]));
        assert!(!spend.last_month.estimated);
        assert_eq!(Spend::total(&spend.month_to_date, &[PriceItem::NatGatewayGb]), 7.25);
        assert!(spend.month_to_date.estimated);
        assert_eq!(spend.basis(), "AWS Cost Explorer, unblended cost in ap-northeast-2, read 2026-12-03");
    }
}
