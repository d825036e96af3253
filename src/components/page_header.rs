use leptos::prelude::*;
use leptos_meta::Title;

/// The page's heading, which also sets the document title.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] subtitle: Option<&'static str>,
) -> impl IntoView {
    view! {
        <Title text=title/>
        <header class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
            {subtitle.map(|text| view! { <p class="mt-1 text-sm text-slate-600">{text}</p> })}
        </header>
    }
}
