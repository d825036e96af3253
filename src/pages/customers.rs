use leptos::prelude::*;

use crate::{
    components::{page_header::PageHeader, record_summary::RecordSummary},
    records::RecordKind,
};

#[component]
pub fn CustomersPage() -> impl IntoView {
    view! {
        <PageHeader title="Customers" subtitle="Everyone who has ordered or been imported, with their order totals."/>
        <RecordSummary
            kind=RecordKind::Customers
            empty_title="No customers yet"
            empty_message="Customers appear here when orders are ingested or a customer list is imported."
        />
    }
}
