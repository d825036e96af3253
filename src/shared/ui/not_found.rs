//! The page for an address Realm does not have.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::shared::ui::page_header::PageHeader;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageHeader title="Page not found" subtitle="There is no page at this address."/>
        <A href="/" {..} class="text-sm font-medium text-indigo-700 hover:underline">"Go to the dashboard"</A>
    }
}
