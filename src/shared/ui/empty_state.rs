//! What a list shows before it has anything in it, and what to do next.

use leptos::prelude::*;

#[component]
pub fn EmptyState(title: &'static str, message: &'static str) -> impl IntoView {
    view! {
        <section class="rounded-lg border border-dashed border-slate-300 bg-white px-6 py-12 text-center">
            <h2 class="text-base font-semibold">{title}</h2>
            <p class="mx-auto mt-2 max-w-md text-sm text-slate-600">{message}</p>
        </section>
    }
}
