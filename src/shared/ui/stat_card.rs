//! One figure with its label and an optional note or link, as on the dashboard and a campaign's page.

use leptos::prelude::*;

/// One figure with its label and an optional note under it (a rate, a change); inside a `<dl>`. With `href`, the
/// label leads to the page the figure comes from.
#[component]
pub fn StatCard(
    label: &'static str,
    value: String,
    #[prop(optional_no_strip)] note: Option<String>,
    #[prop(optional)] href: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-4">
            <dt class="text-sm text-slate-600">
                {match href {
                    Some(href) => view! { <a class="hover:underline" href=href>{label}</a> }.into_any(),
                    None => label.into_any(),
                }}
            </dt>
            <dd class="mt-1 text-2xl font-semibold tabular-nums" data-stat=label>{value}</dd>
            {note.map(|note| view! { <dd class="text-xs text-slate-500" data-stat-note=label>{note}</dd> })}
        </div>
    }
}
