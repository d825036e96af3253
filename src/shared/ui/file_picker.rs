//! Choosing a CSV or JSON file and reading it in the browser.

use leptos::{prelude::*, task::spawn_local};

/// A file input that reads the chosen file as text in the browser and hands over its name and content (or a
/// message when it cannot be read).
#[component]
pub fn FilePicker(
    label: &'static str,
    accept: &'static str,
    on_loaded: Callback<(String, Result<String, String>)>,
) -> impl IntoView {
    let on_change = move |event: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&event);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|text| text.as_string());
            on_loaded.run((
                file.name(),
                text.ok_or_else(|| "The file could not be read.".to_owned()),
            ));
        });
    };
    view! {
        <label class="block">
            <span class="text-sm font-medium text-slate-700">{label}</span>
            <input type="file" accept=accept class="mt-1 block w-full text-sm" on:change=on_change/>
        </label>
    }
}
