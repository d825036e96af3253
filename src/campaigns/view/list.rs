//! `/campaigns`: every campaign with its status and progress, live while one is going out.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::shared::ui::poll::use_poll;
use crate::shared::ui::status_badge::badge_class;
use crate::{
    campaigns::{api::list_campaigns, model::CampaignSummary},
    shared::ui::{
        data_table::DataTable, empty_state::EmptyState, error_notice::ErrorNotice,
        form::PRIMARY_BUTTON_CLASS, local_time::LocalTime, page_header::PageHeader,
    },
};

/// How often the list refreshes while a campaign is going out.
const POLL_MS: u32 = 1_000;

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let poll = use_poll();
    let campaigns = Resource::new(move || poll.track(), |_| list_campaigns());
    // Refreshes while something is scheduled or sending.
    poll.every(POLL_MS, move || {
        campaigns.with_untracked(|loaded| {
            matches!(loaded, Some(Ok(list)) if list.iter().any(|campaign| campaign.status.in_motion()))
        })
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
                <span class=badge_class(campaign.status.tone()) data-campaign-status>
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
