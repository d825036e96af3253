use leptos::prelude::*;

use crate::{
    components::{page_header::PageHeader, record_summary::RecordSummary},
    records::RecordKind,
};

#[component]
pub fn SegmentsPage() -> impl IntoView {
    view! {
        <PageHeader title="Segments" subtitle="Groups of customers defined by rules, with their audience size."/>
        <RecordSummary
            kind=RecordKind::Segments
            empty_title="No segments yet"
            empty_message="Segments you define with the rule builder appear here with their live audience size."
        />
    }
}
