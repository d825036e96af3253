use leptos::prelude::*;

use crate::{
    components::{page_header::PageHeader, record_summary::RecordSummary},
    records::RecordKind,
};

#[component]
pub fn OrdersPage() -> impl IntoView {
    view! {
        <PageHeader title="Orders" subtitle="Bulk submissions, their processing status, and the order history."/>
        <RecordSummary
            kind=RecordKind::Orders
            empty_title="No orders yet"
            empty_message="Orders appear here once a bulk submission has been processed."
        />
    }
}
