use leptos::prelude::*;

use crate::{
    components::{empty_state::EmptyState, error_notice::ErrorNotice},
    records::{count_records, RecordKind},
};

/// How many records of `kind` are stored, or an empty state saying what will appear once there are some.
#[component]
pub fn RecordSummary(
    kind: RecordKind,
    empty_title: &'static str,
    empty_message: &'static str,
) -> impl IntoView {
    let count = Resource::new(move || kind, count_records);
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Counting…"</p> }>
            {move || Suspend::new(async move {
                match count.await {
                    Ok(0) => view! { <EmptyState title=empty_title message=empty_message/> }.into_any(),
                    Ok(n) => view! {
                        <p class="rounded-lg border border-slate-200 bg-white px-5 py-4 text-sm">
                            {format!("{} stored.", kind.count_label(n))}
                        </p>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
