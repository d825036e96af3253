//! The table every list uses: a caption, headers and rows.

use leptos::prelude::*;

/// The frame of every data table: scrolls sideways on narrow screens; `children` are the body rows.
#[component]
pub fn DataTable(
    /// The table's accessible name.
    label: &'static str,
    headers: &'static [&'static str],
    /// Headers of columns holding numbers, aligned right like their values.
    #[prop(optional)]
    numeric: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class="min-w-full divide-y divide-slate-200 text-sm" aria-label=label>
                <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
                    <tr>
                        {headers
                            .iter()
                            .map(|header| {
                                let class = if numeric.contains(header) { "px-4 py-3 text-right" } else { "px-4 py-3" };
                                view! { <th class=class>{*header}</th> }
                            })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">{children()}</tbody>
            </table>
        </div>
    }
}
