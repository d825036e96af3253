//! The orders and revenue per day charts the dashboard and the Orders page share.

use crate::shared::money::{money, money_units, thousands};
use leptos::prelude::*;

use crate::{
    orders::model::DailyOrders,
    shared::ui::bar_chart::{Bar, BarChart},
};

/// Orders and revenue per day, side by side.
#[component]
pub fn DailyOrdersCharts(days: Vec<DailyOrders>) -> impl IntoView {
    let span = format!("last {} days", days.len());
    let order_bars = days
        .iter()
        .map(|d| Bar {
            label: d.day[5..].to_owned(),
            value: d.orders as f64,
            title: format!("{}: {} orders", d.day, thousands(d.orders)),
        })
        .collect();
    let revenue_bars = days
        .iter()
        .map(|d| Bar {
            label: d.day[5..].to_owned(),
            value: d.revenue_cents as f64 / 100.0,
            title: format!("{}: {} revenue", d.day, money(d.revenue_cents)),
        })
        .collect();
    view! {
        <div class="grid gap-6 lg:grid-cols-2">
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Orders per day (UTC)"</figcaption>
                <BarChart caption=format!("Orders per day, {span}") bars=order_bars axis_label=|v| thousands(v as u64) y_title="orders"/>
            </figure>
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Revenue per day (UTC)"</figcaption>
                <BarChart caption=format!("Revenue per day, {span}") bars=revenue_bars axis_label=money_units y_title="revenue"/>
            </figure>
        </div>
    }
}
