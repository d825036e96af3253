//! The dashboard's figures: what the server sends, and the arithmetic over days and periods both sides share.

use serde::{Deserialize, Serialize};

use crate::{
    campaigns::model::CampaignSummary, orders::model::DailyOrders, segments::model::SegmentSummary,
    shared::error::AppError,
};

/// The spans the orders charts can show.
pub const CHART_SPANS: [u32; 2] = [30, 90];
/// Days of roll-ups the figures need: the last 30 days and the 30 before them.
pub const FIGURE_DAYS: u32 = 60;

/// Orders and revenue over one period ending today, beside the period of the same length just before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodFigures {
    pub days: u32,
    pub orders: u64,
    pub revenue_cents: i64,
    pub previous_orders: u64,
    pub previous_revenue_cents: i64,
}

impl PeriodFigures {
    /// The period of the last `days` days, today included, from days in order with today last. Days the list does
    /// not reach count as zero.
    pub fn ending_today(daily: &[DailyOrders], days: u32) -> Self {
        let days_usize = days as usize;
        let sum = |slice: &[DailyOrders]| {
            slice.iter().fold((0_u64, 0_i64), |(orders, revenue), day| {
                (orders + day.orders, revenue + day.revenue_cents)
            })
        };
        let end = daily.len();
        let current_start = end.saturating_sub(days_usize);
        let previous_start = current_start.saturating_sub(days_usize);
        let (orders, revenue_cents) = sum(&daily[current_start..end]);
        let (previous_orders, previous_revenue_cents) = sum(&daily[previous_start..current_start]);
        Self {
            days,
            orders,
            revenue_cents,
            previous_orders,
            previous_revenue_cents,
        }
    }

    pub fn label(&self) -> String {
        match self.days {
            1 => "today".to_owned(),
            days => format!("last {days} days"),
        }
    }

    /// What the period is compared with, e.g. "yesterday".
    pub fn previous_label(&self) -> String {
        match self.days {
            1 => "yesterday".to_owned(),
            days => format!("the {days} days before"),
        }
    }

    pub fn average_order_cents(&self) -> Option<i64> {
        average(self.revenue_cents, self.orders)
    }

    pub fn previous_average_order_cents(&self) -> Option<i64> {
        average(self.previous_revenue_cents, self.previous_orders)
    }
}

fn average(revenue_cents: i64, orders: u64) -> Option<i64> {
    (orders > 0).then(|| revenue_cents / orders as i64)
}

/// The change from `previous` to `current` in percent; none when there was nothing before to compare with.
pub fn percent_change(current: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| (current - previous) / previous.abs() * 100.0)
}

/// "+12.5 % vs yesterday", "no change vs …", or "new vs …" when nothing came before.
pub fn change_text(current: f64, previous: f64, against: &str) -> String {
    match percent_change(current, previous) {
        Some(change) if change.abs() < 0.05 => format!("no change vs {against}"),
        Some(change) => format!("{change:+.1} % vs {against}"),
        None if current == 0.0 => format!("none {against} either"),
        None => format!("none {against}"),
    }
}

/// A campaign's message counts as last tallied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignFigures {
    pub audience: u64,
    pub sent: u64,
    pub failed: u64,
    pub delivered: u64,
    pub opened: u64,
    pub clicked: u64,
    /// Never sent for want of consent.
    #[serde(default)]
    pub suppressed: u64,
    /// Recipients who unsubscribed through this campaign's messages.
    #[serde(default)]
    pub unsubscribed: u64,
    /// Messages a mail provider reported as hard bounces.
    #[serde(default)]
    pub bounced: u64,
}

impl CampaignFigures {
    /// Delivered out of sent (handed to the vendor), in percent.
    pub fn delivery_rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.delivered as f64 / self.sent as f64 * 100.0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignPerformance {
    pub id: String,
    pub name: String,
    pub figures: CampaignFigures,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub customers: u64,
    pub new_customers_7d: u64,
    pub new_customers_30d: u64,
    /// Today, the last 7 days and the last 30 days.
    pub periods: Vec<PeriodFigures>,
    pub campaigns_scheduled: u64,
    pub campaigns_sending: u64,
    /// Every launched campaign's figures added up.
    pub all_campaigns: CampaignFigures,
    /// The chart's days, oldest first, today last.
    pub daily: Vec<DailyOrders>,
    /// The most recently launched campaigns, newest first.
    pub campaign_performance: Vec<CampaignPerformance>,
    pub largest_segments: Vec<SegmentSummary>,
    pub recent_campaigns: Vec<CampaignSummary>,
    pub recent_segments: Vec<SegmentSummary>,
    pub counted_at_ms: i64,
}

pub fn check_span(days: u32) -> Result<u32, AppError> {
    if CHART_SPANS.contains(&days) {
        Ok(days)
    } else {
        Err(AppError::invalid(
            "days",
            format!("days: the charts show 30 or 90 days, not {days}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(values: &[(u64, i64)]) -> Vec<DailyOrders> {
        values
            .iter()
            .enumerate()
            .map(|(i, &(orders, revenue_cents))| DailyOrders {
                day: format!("2026-01-{:02}", i + 1),
                orders,
                revenue_cents,
            })
            .collect()
    }

    #[test]
    fn periods_end_today_and_compare_with_the_period_before() {
        let daily = days(&[(1, 100), (2, 200), (3, 300), (4, 400), (5, 500)]);
        let today = PeriodFigures::ending_today(&daily, 1);
        assert_eq!((today.orders, today.revenue_cents), (5, 500));
        assert_eq!(
            (today.previous_orders, today.previous_revenue_cents),
            (4, 400)
        );
        let two = PeriodFigures::ending_today(&daily, 2);
        assert_eq!((two.orders, two.previous_orders), (9, 5));
        // The list ends before a whole previous period: the missing days count as zero.
        let three = PeriodFigures::ending_today(&daily, 3);
        assert_eq!((three.orders, three.previous_orders), (12, 3));
        let ten = PeriodFigures::ending_today(&daily, 10);
        assert_eq!((ten.orders, ten.previous_orders), (15, 0));
    }

    #[test]
    fn averages_and_changes_need_something_to_divide_by() {
        let period = PeriodFigures::ending_today(&days(&[(0, 0), (3, 1000)]), 1);
        assert_eq!(period.average_order_cents(), Some(333));
        assert_eq!(period.previous_average_order_cents(), None);
        assert_eq!(percent_change(150.0, 100.0), Some(50.0));
        assert_eq!(percent_change(50.0, 100.0), Some(-50.0));
        assert_eq!(percent_change(5.0, 0.0), None);
        assert_eq!(change_text(3.0, 2.0, "yesterday"), "+50.0 % vs yesterday");
        assert_eq!(change_text(2.0, 2.0, "yesterday"), "no change vs yesterday");
        assert_eq!(change_text(2.0, 0.0, "yesterday"), "none yesterday");
        assert_eq!(change_text(0.0, 0.0, "yesterday"), "none yesterday either");
    }

    #[test]
    fn delivery_rate_is_delivered_out_of_sent() {
        let figures = CampaignFigures {
            sent: 8,
            delivered: 6,
            ..CampaignFigures::default()
        };
        assert_eq!(figures.delivery_rate(), Some(75.0));
        assert_eq!(CampaignFigures::default().delivery_rate(), None);
    }

    #[test]
    fn only_the_offered_spans_are_accepted() {
        assert_eq!(check_span(90).ok(), Some(90));
        let refused = check_span(45).unwrap_err().to_string();
        assert!(refused.contains("days"), "{refused}");
    }
}
