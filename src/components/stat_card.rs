use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn StatCard(label: &'static str, value: String, href: &'static str) -> impl IntoView {
    view! {
        <A href={href} {..} class="block rounded-lg border border-slate-200 bg-white p-5 shadow-sm hover:border-slate-400">
            <p class="text-sm font-medium text-slate-600">{label}</p>
            <p class="mt-2 text-3xl font-semibold tabular-nums" data-stat=label>{value}</p>
        </A>
    }
}
