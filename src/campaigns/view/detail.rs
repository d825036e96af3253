//! `/campaigns/:id`: where a campaign stands, its figures (live while it goes out), actions and recipient log.

use crate::shared::money::{money, thousands};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use crate::shared::ui::poll::use_poll;
use crate::shared::ui::status_badge::badge_class;
use crate::{
    campaigns::{
        api::{campaign_log, fetch_campaign_stats, get_campaign, ActOnCampaign},
        model::{
            CampaignAction, CampaignDetail, CampaignStats, CampaignStatus, Channel, LogFilter,
        },
    },
    shared::ui::{
        bar_chart::{Bar, BarChart},
        data_table::DataTable,
        error_notice::ErrorNotice,
        form::{INPUT_CLASS, PRIMARY_BUTTON_CLASS, SECONDARY_BUTTON_CLASS},
        local_time::LocalTime,
        page_header::PageHeader,
        stat_card::StatCard,
    },
};

const POLL_MS: u32 = 1_000;

fn rate(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        format!("{:.1} %", 100.0 * part as f64 / whole as f64)
    }
}

/// `/campaigns/:id`: where the campaign stands, its figures (live while it is going out), and the per-recipient log.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let poll = use_poll();
    let campaign = Resource::new(move || (id(), poll.track()), |(id, _)| get_campaign(id));
    let stats = Resource::new(
        move || (id(), poll.track()),
        |(id, _)| fetch_campaign_stats(id),
    );
    let log_filter = RwSignal::new(None::<LogFilter>);
    let log = Resource::new(
        move || (id(), poll.track(), log_filter.get()),
        |(id, _, filter)| campaign_log(id, filter),
    );
    // Live while the campaign is scheduled or going out.
    poll.every(POLL_MS, move || {
        campaign.with_untracked(
            |loaded| matches!(loaded, Some(Ok(detail)) if detail.status.in_motion()),
        )
    });
    let act = ServerAction::<ActOnCampaign>::new();
    // What an action changed shows at once, not at the next tick.
    Effect::new(move || {
        if act.version().get() > 0 {
            poll.refresh();
        }
    });

    view! {
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading the campaign…"</p> }>
            {move || Suspend::new(async move {
                match campaign.await {
                    Err(error) => view! { <PageHeader title="Campaign"/><ErrorNotice error/> }.into_any(),
                    Ok(detail) => view! { <CampaignOverview detail act/> }.into_any(),
                }
            })}
        </Transition>
        {move || act.value().get().and_then(Result::err).map(|error| view! { <div class="mt-4"><ErrorNotice error/></div> })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match stats.await {
                    Err(error) => view! { <div class="mt-6"><ErrorNotice error/></div> }.into_any(),
                    Ok(stats) => view! { <CampaignFigures stats/> }.into_any(),
                }
            })}
        </Transition>
        <section class="mt-8" aria-labelledby="log-heading">
            <div class="mb-3 flex flex-wrap items-end justify-between gap-3">
                <h2 id="log-heading" class="text-lg font-semibold">"Recipients"</h2>
                <label class="text-sm">"Show"
                    <select
                        class=INPUT_CLASS
                        prop:value=move || log_filter.get().map(LogFilter::key).unwrap_or_default()
                        on:change=move |e| log_filter.set(LogFilter::parse(&event_target_value(&e)))
                    >
                        <option value="">"everyone"</option>
                        {LogFilter::CHOICES.map(|(filter, label)| view! { <option value=filter.key()>{label}</option> })}
                    </select>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading recipients…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(rows) if rows.is_empty() => {
                            let note = match log_filter.get_untracked() {
                                Some(_) => "No recipient is in this group yet.",
                                None => "No recipients to show: the audience is frozen when the campaign starts sending.",
                            };
                            view! { <p class="text-sm text-slate-600" data-log-empty>{note}</p> }.into_any()
                        }
                        Ok(rows) => view! {
                            <DataTable label="Recipients" headers=&["Recipient", "Status", "Attempts", "Sent", "Delivered", "Opened", "Clicked", "Message"] numeric=&["Attempts"]>
                                {rows.into_iter().map(|row| { let key = row.to.clone(); view! {
                                    <tr data-recipient=key>
                                        <td class="px-4 py-2"><a class="text-indigo-700 hover:underline" href=format!("/customers/{}", row.customer_id)>{row.name}</a><span class="block text-xs text-slate-500">{row.to}</span></td>
                                        <td class="px-4 py-2">{row.status.key()}{row.failure_reason.map(|reason| view! { <span class="block text-xs text-red-700">{reason}</span> })}</td>
                                        <td class="px-4 py-2 text-right tabular-nums">{row.attempts}</td>
                                        <td class="px-4 py-2 text-xs text-slate-600">{row.sent_at.unwrap_or_default()}</td>
                                        <td class="px-4 py-2 text-xs text-slate-600">{row.delivered_at.unwrap_or_default()}</td>
                                        <td class="px-4 py-2 text-xs text-slate-600">{row.opened_at.unwrap_or_default()}</td>
                                        <td class="px-4 py-2 text-xs text-slate-600">{row.clicked_at.unwrap_or_default()}</td>
                                        <td class="px-4 py-2 text-xs text-slate-700">{row.message}</td>
                                    </tr>
                                }}).collect_view()}
                            </DataTable>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CampaignOverview(detail: CampaignDetail, act: ServerAction<ActOnCampaign>) -> impl IntoView {
    let status = detail.status;
    let edit_href = format!("/campaigns/{}/edit", detail.id);
    let id = StoredValue::new(detail.id.clone());
    let button = move |label: &'static str, action: CampaignAction, primary: bool| {
        let class = if primary {
            PRIMARY_BUTTON_CLASS
        } else {
            SECONDARY_BUTTON_CLASS
        };
        // A form per action, so that it works before the page is hydrated.
        view! {
            <ActionForm action=act>
                <input type="hidden" name="id" value=id.get_value()/>
                <input type="hidden" name="action" value=action.verb()/>
                <button type="submit" class=class>{label}</button>
            </ActionForm>
        }
    };
    view! {
        <PageHeader title=detail.draft.name.clone()>
            {status.editable().then(|| view! { <A href={edit_href} {..} class=SECONDARY_BUTTON_CLASS>"Edit"</A> })}
            {(status == CampaignStatus::Draft).then(|| button("Send now", CampaignAction::Schedule, true))}
            {(status == CampaignStatus::Sending).then(|| button("Pause", CampaignAction::Pause, false))}
            {(status == CampaignStatus::Paused).then(|| button("Resume", CampaignAction::Resume, true))}
            {matches!(status, CampaignStatus::Scheduled | CampaignStatus::Sending | CampaignStatus::Paused).then(|| button("Cancel", CampaignAction::Cancel, false))}
        </PageHeader>
        <section class="rounded-lg border border-slate-200 bg-white p-5 text-sm">
            <p class="flex flex-wrap items-center gap-3">
                <span class=badge_class(status.tone()) data-campaign-status>{status.key()}</span>
                <span>{format!("{} to “{}”", detail.draft.channel.key().to_uppercase(), detail.segment_name)}</span>
                {detail.draft.scheduled_for_ms.map(|ms| view! { <span>"scheduled for " <LocalTime ms/></span> })}
                <span>{format!("at most {} messages/s", detail.draft.rate_per_second)}</span>
            </p>
            {detail.status_reason.clone().map(|reason| view! { <p class="mt-2 text-red-700">{reason}</p> })}
            {(detail.draft.channel == Channel::Email).then(|| view! { <p class="mt-3 font-medium">{detail.draft.subject.clone()}</p> })}
            <p class="mt-1 whitespace-pre-wrap text-slate-700">{detail.draft.message.clone()}</p>
            <details class="mt-3">
                <summary class="cursor-pointer text-slate-600">"History"</summary>
                <ol class="mt-1 list-decimal pl-5 text-slate-600">
                    {detail.history.into_iter().map(|change| view! {
                        <li>{format!("{} at {} by {}{}", change.status.key(), change.at, change.by, change.reason.map(|r| format!(": {r}")).unwrap_or_default())}</li>
                    }).collect_view()}
                </ol>
            </details>
        </section>
    }
}

#[component]
fn CampaignFigures(stats: CampaignStats) -> impl IntoView {
    let figure = |label: &'static str, value: String, note: Option<String>| {
        view! { <StatCard label value note/> }
    };
    let timeline: Vec<Bar> = stats
        .sent_per_minute
        .iter()
        .map(|(minute, count)| Bar {
            label: minute[11..].to_owned(),
            value: *count as f64,
            title: format!("{minute} UTC: {} sent", thousands(*count)),
        })
        .collect();
    view! {
        <dl class="mt-6 grid grid-cols-2 gap-4 md:grid-cols-3 lg:grid-cols-5">
            {figure("Audience", thousands(stats.audience), None)}
            {figure("Sent", thousands(stats.sent), Some(rate(stats.sent, stats.audience)))}
            {figure("Failed", thousands(stats.failed), Some(rate(stats.failed, stats.audience)))}
            {figure("Delivered", thousands(stats.delivered), Some(rate(stats.delivered, stats.sent)))}
            {figure("Opened", thousands(stats.opened), Some(rate(stats.opened, stats.delivered)))}
            {figure("Clicked", thousands(stats.clicked), Some(rate(stats.clicked, stats.opened)))}
            {figure("Suppressed", thousands(stats.suppressed), Some("no consent for the channel".to_owned()))}
            {figure("Unsubscribed", thousands(stats.unsubscribed), Some(rate(stats.unsubscribed, stats.sent)))}
            {figure("Bounced", thousands(stats.bounced), Some(rate(stats.bounced, stats.sent)))}
            {figure("Revenue", money(stats.attributed_revenue_cents), Some(format!("{} orders within {} days of delivery", stats.attributed_orders, stats.attribution_days)))}
        </dl>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <figure class="rounded-lg border border-slate-200 bg-white p-4">
                <figcaption class="mb-2 text-sm font-medium">"Messages sent per minute (UTC)"</figcaption>
                <BarChart caption="Messages sent per minute".to_owned() bars=timeline axis_label=|v| thousands(v as u64)/>
            </figure>
            <section class="rounded-lg border border-slate-200 bg-white p-4 text-sm" aria-labelledby="failures-heading">
                <h2 id="failures-heading" class="mb-2 font-medium">"Failures by reason"</h2>
                {if stats.failures_by_reason.is_empty() {
                    view! { <p class="text-slate-500">"No failures."</p> }.into_any()
                } else {
                    view! {
                        <ul class="space-y-1" data-failure-reasons>
                            {stats.failures_by_reason.into_iter().map(|(reason, count)| view! {
                                <li class="flex justify-between"><span>{reason}</span><span class="tabular-nums">{count}</span></li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}
