use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::A;

use crate::{
    campaigns::{list_campaigns, CampaignStatus, CampaignSummary},
    components::{
        data_table::DataTable, empty_state::EmptyState, error_notice::ErrorNotice,
        form::PRIMARY_BUTTON_CLASS, local_time::LocalTime, page_header::PageHeader,
    },
};

/// How often the list refreshes while a campaign is going out.
const POLL_MS: u32 = 1_000;

pub fn status_badge(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Draft => "bg-slate-100 text-slate-700",
        CampaignStatus::Scheduled => "bg-sky-100 text-sky-800",
        CampaignStatus::Sending => "bg-indigo-100 text-indigo-800",
        CampaignStatus::Paused => "bg-amber-100 text-amber-800",
        CampaignStatus::Completed => "bg-emerald-100 text-emerald-800",
        CampaignStatus::Cancelled | CampaignStatus::Failed => "bg-red-100 text-red-800",
    }
}

/// Whether a campaign is about to change without anyone touching it.
pub fn in_motion(status: CampaignStatus) -> bool {
    matches!(status, CampaignStatus::Scheduled | CampaignStatus::Sending)
}

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let (tick, set_tick) = signal(0_u32);
    let campaigns = Resource::new(move || tick.get(), |_| list_campaigns());
    // Poll while something is scheduled or sending; effects run in the browser only.
    Effect::new(move |_| {
        if let Some(Ok(list)) = campaigns.get() {
            if list.iter().any(|campaign| in_motion(campaign.status)) {
                spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(POLL_MS).await;
                    set_tick.update(|n| *n += 1);
                });
            }
        }
    });
    view! {
        <PageHeader title="Campaigns" subtitle="Messages to a segment's customers: scheduled, delivered with receipts, measured.">
            <A href="/campaigns/new" {..} class=PRIMARY_BUTTON_CLASS>"New campaign"</A>
        </PageHeader>
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading campaigns…"</p> }>
            {move || Suspend::new(async move {
                match campaigns.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No campaigns yet" message="Create a campaign for a segment, write a personalised message, and send it now or at a chosen time."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <DataTable label="Campaigns" headers=&["Campaign", "Segment", "Status", "Scheduled for", "Progress"] numeric=&["Progress"]>
                            {list.into_iter().map(|campaign| view! { <CampaignRow campaign/> }).collect_view()}
                        </DataTable>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CampaignRow(campaign: CampaignSummary) -> impl IntoView {
    let progress = campaign
        .audience
        .map(|audience| (campaign.processed, audience));
    view! {
        <tr data-campaign=campaign.name.clone() data-status=campaign.status.key()>
            <td class="px-4 py-2">
                <a class="font-medium text-indigo-700 hover:underline" href=format!("/campaigns/{}", campaign.id)>{campaign.name.clone()}</a>
                <span class="block text-xs uppercase text-slate-500">{campaign.channel.key()}</span>
            </td>
            <td class="px-4 py-2 text-slate-700">{campaign.segment_name.clone()}</td>
            <td class="px-4 py-2">
                <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status_badge(campaign.status)) data-campaign-status>
                    {campaign.status.key()}
                </span>
            </td>
            <td class="px-4 py-2 text-slate-600">
                {campaign.scheduled_for_ms.map(|ms| view! { <LocalTime ms/> })}
            </td>
            <td class="px-4 py-2 text-right tabular-nums">
                {progress.map(|(done, audience)| view! {
                    <span data-campaign-progress>{format!("{done} / {audience}")}</span>
                    <progress class="ml-2 h-1.5 w-24 align-middle" max=audience.max(1) value=done aria-label="Sending progress"></progress>
                })}
            </td>
        </tr>
    }
}
