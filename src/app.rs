//! The document shell and the routes: which page answers which address.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use crate::{
    auth::view::{
        account::ChangePasswordPage, api_keys::ApiKeysPage, setup::SetupPage, sign_in::SignInPage,
        users::UsersPage,
    },
    campaigns::view::{
        detail::CampaignPage,
        editor::{EditCampaignPage, NewCampaignPage},
        list::CampaignsPage,
    },
    customers::view::{detail::CustomerPage, list::CustomersPage},
    dashboard::view::DashboardPage,
    orders::view::OrdersPage,
    segments::view::{
        detail::SegmentPage,
        editor::{EditSegmentPage, NewSegmentPage},
        list::SegmentsPage,
    },
    shared::ui::{
        layout::{AppFrame, AppLayout},
        not_found::NotFound,
    },
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // Under the build's hashed name, which browsers may keep for a year.
                <HashedStylesheet id="leptos" options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased" data-currency=crate::shared::money::currency().code()>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Effects run only in the browser, so this attribute tells people and tests that the page is interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Title formatter=|page: String| format!("{page} · Realm")/>
        <Router>
            <Routes fallback=|| view! { <AppFrame><NotFound/></AppFrame> }>
                <Route path=path!("/sign-in") view=SignInPage/>
                <Route path=path!("/setup") view=SetupPage/>
                <Route path=path!("/account/password") view=ChangePasswordPage/>
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view=DashboardPage/>
                    <Route path=path!("customers") view=CustomersPage/>
                    <Route path=path!("customers/:id") view=CustomerPage/>
                    <Route path=path!("orders") view=OrdersPage/>
                    <Route path=path!("segments") view=SegmentsPage/>
                    <Route path=path!("segments/new") view=NewSegmentPage/>
                    <Route path=path!("segments/:id") view=SegmentPage/>
                    <Route path=path!("segments/:id/edit") view=EditSegmentPage/>
                    <Route path=path!("campaigns") view=CampaignsPage/>
                    <Route path=path!("campaigns/new") view=NewCampaignPage/>
                    <Route path=path!("campaigns/:id") view=CampaignPage/>
                    <Route path=path!("campaigns/:id/edit") view=EditCampaignPage/>
                    <Route path=path!("admin/users") view=UsersPage/>
                    <Route path=path!("admin/api-keys") view=ApiKeysPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
