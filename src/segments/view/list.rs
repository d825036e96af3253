//! `/segments`: every segment with its size.

use crate::shared::money::thousands;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    segments::api::list_segments,
    shared::ui::{
        data_table::DataTable, empty_state::EmptyState, error_notice::ErrorNotice,
        form::PRIMARY_BUTTON_CLASS, page_header::PageHeader,
    },
};

#[component]
pub fn SegmentsPage() -> impl IntoView {
    let segments = Resource::new(|| (), |()| list_segments());
    view! {
        <PageHeader title="Segments" subtitle="Groups of customers defined by rules; membership follows the customers' data.">
            <A href="/segments/new" {..} class=PRIMARY_BUTTON_CLASS>"New segment"</A>
        </PageHeader>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading segments…"</p> }>
            {move || Suspend::new(async move {
                match segments.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No segments yet" message="Build a rule from customers' spend, orders, dates, city and tags; the audience size updates as you edit."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <DataTable label="Segments" headers=&["Segment", "Rule", "Size", "Updated"] numeric=&["Size"]>
                            {list.into_iter().map(|segment| view! {
                                <tr data-segment=segment.id.clone()>
                                    <td class="px-4 py-2">
                                        <a class="font-medium text-indigo-700 hover:underline" href=format!("/segments/{}", segment.id)>{segment.name}</a>
                                        <span class="block text-xs text-slate-500">{segment.description}</span>
                                    </td>
                                    <td class="px-4 py-2 text-slate-700">{segment.summary}</td>
                                    <td class="px-4 py-2 text-right tabular-nums">
                                        {segment.size.map(thousands).unwrap_or_else(|| "not counted".to_owned())}
                                        {segment.counted_at.map(|at| view! { <span class="block text-xs text-slate-500">{format!("counted {at}")}</span> })}
                                    </td>
                                    <td class="px-4 py-2 text-slate-600">{segment.updated_at}</td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
