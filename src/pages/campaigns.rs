use leptos::prelude::*;

use crate::{
    components::{page_header::PageHeader, record_summary::RecordSummary},
    records::RecordKind,
};

#[component]
pub fn CampaignsPage() -> impl IntoView {
    view! {
        <PageHeader title="Campaigns" subtitle="Messages sent to segments: schedule, delivery and results."/>
        <RecordSummary
            kind=RecordKind::Campaigns
            empty_title="No campaigns yet"
            empty_message="Campaigns you create for a segment appear here with their status and delivery statistics."
        />
    }
}
