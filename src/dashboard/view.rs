//! `/`: the dashboard page.

use crate::shared::money::{money, thousands};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::shared::ui::poll::use_poll;
use crate::shared::ui::status_badge::badge_class;
use crate::{
    dashboard::{
        api::load_dashboard,
        model::{change_text, Dashboard, PeriodFigures, CHART_SPANS},
    },
    shared::ui::{
        bar_chart::{Bar, BarChart, BarGroup, GroupedBarChart, Series},
        daily_orders::DailyOrdersCharts,
        empty_state::EmptyState,
        error_notice::ErrorNotice,
        local_time::LocalTime,
        page_header::PageHeader,
        stat_card::StatCard,
    },
};

/// How often the figures refresh while the tab is visible.
const POLL_MS: u32 = 5_000;

const CAMPAIGN_SERIES: [Series; 3] = [
    Series {
        name: "Delivered",
        fill: "fill-emerald-500",
    },
    Series {
        name: "Failed",
        fill: "fill-red-400",
    },
    Series {
        name: "Opened",
        fill: "fill-indigo-500",
    },
];

/// A chart label that fits under its bar.
fn short(name: &str) -> String {
    const MAX: usize = 14;
    if name.chars().count() <= MAX {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(MAX - 1).collect::<String>())
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let query = use_query_map();
    let days = Memo::new(move |_| {
        query
            .read()
            .get("days")
            .and_then(|days| days.parse::<u32>().ok())
            .filter(|days| CHART_SPANS.contains(days))
            .unwrap_or(CHART_SPANS[0])
    });
    let poll = use_poll();
    let dashboard = Resource::new(
        move || (days.get(), poll.track()),
        |(days, _)| load_dashboard(days),
    );
    poll.every(POLL_MS, || true);
    view! {
        <PageHeader title="Dashboard" subtitle="Live figures from the stored orders, customers and campaigns, refreshed every 5 seconds while this tab is visible."/>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading figures…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(dashboard) => view! { <DashboardFigures dashboard days=days.get_untracked()/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DashboardFigures(dashboard: Dashboard, days: u32) -> impl IntoView {
    let period = |index: usize| dashboard.periods.get(index).cloned();
    let orders_card = |label: &'static str, period: Option<PeriodFigures>| {
        period.map(|p| {
            let note = change_text(
                p.orders as f64,
                p.previous_orders as f64,
                &p.previous_label(),
            );
            view! { <StatCard label value=thousands(p.orders) note=Some(note) href="/orders"/> }
        })
    };
    let revenue_card = |label: &'static str, period: Option<PeriodFigures>| {
        period.map(|p| {
            let note = change_text(
                p.revenue_cents as f64,
                p.previous_revenue_cents as f64,
                &p.previous_label(),
            );
            view! { <StatCard label value=money(p.revenue_cents) note=Some(note) href="/orders"/> }
        })
    };
    let average_card = period(2).map(|p| {
        let value = p
            .average_order_cents()
            .map(money)
            .unwrap_or_else(|| "–".to_owned());
        let note = match (p.average_order_cents(), p.previous_average_order_cents()) {
            (Some(now), Some(before)) => {
                change_text(now as f64, before as f64, &p.previous_label())
            }
            _ => format!("over the {}", p.label()),
        };
        view! { <StatCard label="Average order, 30 days" value note=Some(note)/> }
    });
    let all = dashboard.all_campaigns.clone();
    let delivery_rate = all
        .delivery_rate()
        .map(|rate| format!("{rate:.1} %"))
        .unwrap_or_else(|| "–".to_owned());
    let performance: Vec<BarGroup> = dashboard
        .campaign_performance
        .iter()
        .map(|campaign| {
            let f = &campaign.figures;
            BarGroup {
                label: short(&campaign.name),
                values: vec![f.delivered as f64, f.failed as f64, f.opened as f64],
                titles: vec![
                    format!(
                        "{}: {} delivered of {}",
                        campaign.name, f.delivered, f.audience
                    ),
                    format!("{}: {} failed", campaign.name, f.failed),
                    format!("{}: {} opened", campaign.name, f.opened),
                ],
            }
        })
        .collect();
    let segment_bars: Vec<Bar> = dashboard
        .largest_segments
        .iter()
        .map(|segment| {
            let size = segment.size.unwrap_or_default();
            Bar {
                label: short(&segment.name),
                value: size as f64,
                title: format!("{}: {} customers", segment.name, thousands(size)),
            }
        })
        .collect();
    let span_link = move |span: u32| {
        let current = span == days;
        view! {
            <a
                href=format!("?days={span}")
                aria-current=current.then_some("true")
                class=if current { "rounded-md bg-slate-900 px-3 py-1 text-white" } else { "rounded-md px-3 py-1 text-slate-700 hover:bg-slate-100" }
            >
                {format!("{span} days")}
            </a>
        }
    };
    view! {
        <p class="-mt-4 mb-4 text-xs text-slate-500">"Updated " <LocalTime ms=dashboard.counted_at_ms/></p>
        <dl class="grid grid-cols-2 gap-4 md:grid-cols-3 xl:grid-cols-4" aria-label="Key figures">
            <StatCard
                label="Customers"
                value=thousands(dashboard.customers)
                note=Some(format!("{} new in 7 days · {} in 30 days", thousands(dashboard.new_customers_7d), thousands(dashboard.new_customers_30d)))
                href="/customers"
            />
            {orders_card("Orders today", period(0))}
            {orders_card("Orders, 7 days", period(1))}
            {orders_card("Orders, 30 days", period(2))}
            {revenue_card("Revenue today", period(0))}
            {revenue_card("Revenue, 7 days", period(1))}
            {revenue_card("Revenue, 30 days", period(2))}
            {average_card}
            <StatCard label="Campaigns scheduled" value=thousands(dashboard.campaigns_scheduled) href="/campaigns"/>
            <StatCard label="Campaigns sending" value=thousands(dashboard.campaigns_sending) href="/campaigns"/>
            <StatCard
                label="Delivery rate"
                value=delivery_rate
                note=Some(format!("{} delivered of {} sent, all campaigns", thousands(all.delivered), thousands(all.sent)))
            />
        </dl>

        <section class="mt-8" aria-labelledby="orders-chart-heading">
            <div class="mb-3 flex flex-wrap items-center justify-between gap-2">
                <h2 id="orders-chart-heading" class="text-lg font-semibold">"Orders and revenue"</h2>
                <nav class="flex gap-1 text-sm" aria-label="Chart span">
                    {CHART_SPANS.into_iter().map(span_link).collect_view()}
                </nav>
            </div>
            <DailyOrdersCharts days=dashboard.daily.clone()/>
        </section>

        <div class="mt-8 grid gap-6 lg:grid-cols-2">
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Recent campaigns: delivered, failed, opened"</figcaption>
                {if performance.is_empty() {
                    view! { <EmptyState title="No campaign sent yet" message="Once a campaign goes out, its deliveries, failures and opens show here."/> }.into_any()
                } else {
                    view! { <GroupedBarChart caption="Delivered, failed and opened messages of the most recently launched campaigns".to_owned() series=&CAMPAIGN_SERIES groups=performance axis_label=|v| thousands(v as u64) y_title="messages"/> }.into_any()
                }}
            </figure>
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Largest segments"</figcaption>
                {if segment_bars.is_empty() {
                    view! { <EmptyState title="No segments counted yet" message="Save a segment; its size shows here."/> }.into_any()
                } else {
                    view! { <BarChart caption="Customers in the largest segments".to_owned() bars=segment_bars axis_label=|v| thousands(v as u64) y_title="customers"/> }.into_any()
                }}
            </figure>
        </div>

        <div class="mt-8 grid gap-6 lg:grid-cols-2">
            <section class="rounded-lg border border-slate-200 bg-white p-4 text-sm" aria-labelledby="recent-campaigns-heading">
                <h2 id="recent-campaigns-heading" class="mb-2 font-medium">"Recent campaigns"</h2>
                <ul class="divide-y divide-slate-100" data-list="recent-campaigns">
                    {dashboard.recent_campaigns.iter().map(|campaign| view! {
                        <li class="flex items-center justify-between gap-2 py-2">
                            <a class="font-medium text-indigo-700 hover:underline" href=format!("/campaigns/{}", campaign.id)>{campaign.name.clone()}</a>
                            <span class="flex items-center gap-2 tabular-nums text-slate-600">
                                {campaign.audience.map(|audience| format!("{} / {}", thousands(campaign.processed), thousands(audience)))}
                                <span class=badge_class(campaign.status.tone())>{campaign.status.key()}</span>
                            </span>
                        </li>
                    }).collect_view()}
                </ul>
                {dashboard.recent_campaigns.is_empty().then(|| view! { <p class="text-slate-500">"No campaigns yet."</p> })}
            </section>
            <section class="rounded-lg border border-slate-200 bg-white p-4 text-sm" aria-labelledby="recent-segments-heading">
                <h2 id="recent-segments-heading" class="mb-2 font-medium">"Recent segments"</h2>
                <ul class="divide-y divide-slate-100" data-list="recent-segments">
                    {dashboard.recent_segments.iter().map(|segment| view! {
                        <li class="flex items-center justify-between gap-2 py-2">
                            <a class="font-medium text-indigo-700 hover:underline" href=format!("/segments/{}", segment.id)>{segment.name.clone()}</a>
                            <span class="tabular-nums text-slate-600">
                                {match (segment.size, segment.counted_at.clone()) {
                                    (Some(size), Some(at)) => format!("{} customers, counted {at}", thousands(size)),
                                    _ => "not counted yet".to_owned(),
                                }}
                            </span>
                        </li>
                    }).collect_view()}
                </ul>
                {dashboard.recent_segments.is_empty().then(|| view! { <p class="text-slate-500">"No segments yet."</p> })}
            </section>
        </div>
    }
}
