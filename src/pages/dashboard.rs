use leptos::prelude::*;

use crate::{
    components::{error_notice::ErrorNotice, page_header::PageHeader, stat_card::StatCard},
    error::AppError,
    records::{count_records, RecordKind},
};

async fn record_counts() -> Result<Vec<(RecordKind, u64)>, AppError> {
    let mut counts = Vec::with_capacity(RecordKind::ALL.len());
    for kind in RecordKind::ALL {
        counts.push((kind, count_records(kind).await?));
    }
    Ok(counts)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let counts = Resource::new(|| (), |()| record_counts());
    view! {
        <PageHeader title="Dashboard" subtitle="What Realm holds right now."/>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading figures…"</p> }>
            {move || Suspend::new(async move {
                match counts.await {
                    Ok(counts) => view! {
                        <div class="grid grid-cols-2 gap-4 lg:grid-cols-4">
                            {counts
                                .into_iter()
                                .map(|(kind, count)| {
                                    view! { <StatCard label=kind.title() value=count.to_string() href=kind.href()/> }
                                })
                                .collect_view()}
                        </div>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
