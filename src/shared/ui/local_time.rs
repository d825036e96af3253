//! Instants shown in the reader's own time zone.

use leptos::prelude::*;

/// An instant shown in UTC by the server, then in the reader's own time zone once the page is interactive.
#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|at| format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute()))
        .unwrap_or_default();
    let text = RwSignal::new(utc);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
            let local: String = date
                .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
                .into();
            text.set(local);
        }
    });
    view! { <time datetime=ms.to_string()>{move || text.get()}</time> }
}
