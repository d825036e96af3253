//! `/segments/:id`: a segment's rule in words, its audience and analytics, and the campaigns that use it.

use crate::shared::money::{money, thousands};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    segments::{
        api::{analyze_segment, get_segment, DeleteSegment, DuplicateSegment},
        model::{SegmentAnalytics, SegmentDetail},
    },
    shared::ui::{
        bar_chart::{Bar, BarChart},
        error_notice::ErrorNotice,
        form::{PRIMARY_BUTTON_CLASS, SECONDARY_BUTTON_CLASS},
        page_header::PageHeader,
    },
};

/// `/segments/:id`: the rule, the members' figures, the size over time, and what can be done with the segment.
#[component]
pub fn SegmentPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let segment = Resource::new(id, get_segment);
    let analytics = Resource::new(id, analyze_segment);
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading the segment…"</p> }>
            {move || Suspend::new(async move {
                match segment.await {
                    Err(error) => view! { <PageHeader title="Segment"/><ErrorNotice error/> }.into_any(),
                    Ok(segment) => view! { <SegmentOverview segment/> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Counting the members…"</p> }>
            {move || Suspend::new(async move {
                match analytics.await {
                    Err(error) => view! { <div class="mt-6"><ErrorNotice error/></div> }.into_any(),
                    Ok(analytics) => view! { <SegmentFigures analytics/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SegmentOverview(segment: SegmentDetail) -> impl IntoView {
    let duplicate = ServerAction::<DuplicateSegment>::new();
    let delete = ServerAction::<DeleteSegment>::new();
    let confirming = RwSignal::new(false);
    let id = segment.id.clone();
    let kept_id = StoredValue::new(id.clone());
    let failure = move || {
        duplicate
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| delete.value().get().and_then(Result::err))
    };
    let edit_href = format!("/segments/{id}/edit");
    let members_href = format!("/customers?segment={id}");
    view! {
        <PageHeader title=segment.name.clone()>
            <A href={edit_href} {..} class=PRIMARY_BUTTON_CLASS>"Edit"</A>
            <ActionForm action=duplicate>
                <input type="hidden" name="id" value=id.clone()/>
                <button type="submit" class=SECONDARY_BUTTON_CLASS>"Duplicate"</button>
            </ActionForm>
            {move || if confirming.get() {
                view! {
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=kept_id.get_value()/>
                        <button type="submit" class="rounded-md bg-red-600 px-3 py-1.5 text-sm font-semibold text-white">
                            "Delete for good"
                        </button>
                    </ActionForm>
                    <button type="button" class=SECONDARY_BUTTON_CLASS on:click=move |_| confirming.set(false)>"Keep it"</button>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50" on:click=move |_| confirming.set(true)>
                        "Delete"
                    </button>
                }.into_any()
            }}
        </PageHeader>
        {move || failure().map(|error| view! { <div class="mb-4"><ErrorNotice error/></div> })}
        <section class="rounded-lg border border-slate-200 bg-white p-5 text-sm">
            {(!segment.description.is_empty()).then(|| view! { <p class="mb-2 text-slate-700">{segment.description.clone()}</p> })}
            <p><span class="font-medium">"Rule: "</span><span data-rule-summary>{segment.summary.clone()}</span></p>
            <p class="mt-2 text-slate-500">
                {format!("Created {} by {} · updated {}", segment.created_at, segment.created_by, segment.updated_at)}
            </p>
            <p class="mt-2">
                <a class="text-indigo-700 underline" href=members_href>"See the members"</a>
            </p>
            {(!segment.used_by.is_empty()).then(|| view! {
                <h2 class="mt-4 font-medium">"Campaigns aimed at this segment"</h2>
                <ul class="mt-1 list-disc pl-5">
                    {segment.used_by.iter().map(|campaign| view! {
                        <li><a class="text-indigo-700 underline" href=format!("/campaigns/{}", campaign.campaign_id)>{campaign.campaign_name.clone()}</a>{format!(" ({})", campaign.status.key())}</li>
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}

fn count_bars(bands: &[(String, u64)], noun: &str) -> Vec<Bar> {
    bands
        .iter()
        .map(|(label, amount)| Bar {
            label: label.clone(),
            value: *amount as f64,
            title: format!("{label}: {} {noun}", thousands(*amount)),
        })
        .collect()
}

#[component]
fn SegmentFigures(analytics: SegmentAnalytics) -> impl IntoView {
    let size_bars: Vec<Bar> = analytics
        .daily_sizes
        .iter()
        .map(|(day, size)| Bar {
            label: day[5..].to_owned(),
            value: *size as f64,
            title: format!("{day}: {} customers", thousands(*size)),
        })
        .collect();
    view! {
        <dl class="mt-6 grid grid-cols-1 gap-4 sm:grid-cols-3">
            <div class="rounded-lg border border-slate-200 bg-white p-5">
                <dt class="text-sm font-medium text-slate-600">"Customers now"</dt>
                <dd class="mt-2 text-3xl font-semibold tabular-nums" data-segment-size>{analytics.size}</dd>
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-5">
                <dt class="text-sm font-medium text-slate-600">"Total spend"</dt>
                <dd class="mt-2 text-3xl font-semibold tabular-nums">{money(analytics.total_spend_cents)}</dd>
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-5">
                <dt class="text-sm font-medium text-slate-600">"Average spend per customer"</dt>
                <dd class="mt-2 text-3xl font-semibold tabular-nums">{money(analytics.average_spend_cents)}</dd>
            </div>
        </dl>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Total spend"</figcaption>
                <BarChart caption="Members by total spend".to_owned() bars=count_bars(&analytics.spend_bands, "customers") axis_label=|v| thousands(v as u64)/>
            </figure>
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Orders per customer"</figcaption>
                <BarChart caption="Members by number of orders".to_owned() bars=count_bars(&analytics.order_count_bands, "customers") axis_label=|v| thousands(v as u64)/>
            </figure>
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Size over time"</figcaption>
                <BarChart caption="Segment size per day".to_owned() bars=size_bars axis_label=|v| thousands(v as u64)/>
            </figure>
            <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="cities-heading">
                <h2 id="cities-heading" class="mb-2 text-sm font-medium">"Top cities"</h2>
                {if analytics.top_cities.is_empty() {
                    view! { <p class="text-sm text-slate-500">"No member has a city on record."</p> }.into_any()
                } else {
                    view! {
                        <ol class="space-y-1 text-sm">
                            {analytics.top_cities.iter().map(|(city, count)| view! {
                                <li class="flex justify-between"><span>{city.clone()}</span><span class="tabular-nums">{*count}</span></li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
        </div>
    }
}
