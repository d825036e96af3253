#![recursion_limit = "256"]
//! Realm: CRM and campaign management. Pages render on the server and hydrate in the browser.

pub mod app;
pub mod auth;
pub mod campaigns;
pub mod customers;
pub mod dashboard;
pub mod orders;
pub mod segments;
pub mod shared;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The server writes on the page the currency it shows amounts in, so that the browser shows them the same way.
    if let Some(currency) = leptos::prelude::document()
        .body()
        .and_then(|body| body.get_attribute("data-currency"))
        .and_then(|code| shared::money::Currency::parse(&code))
    {
        shared::money::set_currency(currency);
    }
    // Hydrated asynchronously, so that the split-off code of the page shown can be fetched first (see
    // `app::lazy_features`), as `leptos::mount::hydrate_lazy` does, and then marked as hydrated.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // Only now is every part of the page interactive: this attribute tells people and tests so.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
