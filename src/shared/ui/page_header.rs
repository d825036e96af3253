//! The title, summary and actions at the top of a page.

use leptos::prelude::*;
use leptos_meta::Title;

/// The page's heading, which also sets the document title; `children` are the page's actions, beside it.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional)] subtitle: Option<&'static str>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <Title text=title.clone()/>
        <header class="mb-6 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
                {subtitle.map(|text| view! { <p class="mt-1 text-sm text-slate-600">{text}</p> })}
            </div>
            {children.map(|actions| view! { <div class="flex flex-wrap items-center gap-2">{actions()}</div> })}
        </header>
    }
}
