//! The document shell and the routes: which page answers which address.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, Lazy, LazyRoute,
};

use crate::{
    auth::{
        model::{SETUP_PATH, SIGN_IN_PATH},
        view::{
            account::ChangePasswordPage, api_keys::ApiKeysPage, setup::SetupPage,
            sign_in::SignInPage, users::UsersPage,
        },
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
                {loads_the_app().then(|| view! { <HydrationScripts options/> })}
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased" data-currency=crate::shared::money::currency().code()>
                <App/>
            </body>
        </html>
    }
}

/// The pages a signed-out visitor starts on, sent as plain HTML without the app's code: they are the first page a new
/// user ever loads, and each is one form that works without it. Its `ActionForm` posts to its server function, which
/// redirects to the next page, or back here with the error in the address, where the router hands it to the page's
/// `ServerAction` to show beside the form. Reached from inside the app (signing out), the app draws them itself.
pub const PLAIN_PAGES: [&str; 2] = [SIGN_IN_PATH, SETUP_PATH];

/// Whether the page being rendered loads the app's WASM: every page but the `PLAIN_PAGES`.
fn loads_the_app() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .is_none_or(|request| !PLAIN_PAGES.contains(&request.uri.path()))
    }
    #[cfg(not(feature = "ssr"))]
    {
        true
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Title formatter=|page: String| format!("{page} · Realm")/>
        <Router>
            <Routes fallback=|| view! { <AppFrame><NotFound/></AppFrame> }>
                <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()}/>
                <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()}/>
                <Route path=path!("/account/password") view={Lazy::<ChangePasswordRoute>::new()}/>
                <ParentRoute path=path!("") view=AppLayout>
                    // Not lazy: the page after signing in is in the main module, one file to fetch instead of 30.
                    <Route path=path!("") view=DashboardPage/>
                    <Route path=path!("customers") view={Lazy::<CustomersRoute>::new()}/>
                    <Route path=path!("customers/:id") view={Lazy::<CustomerRoute>::new()}/>
                    <Route path=path!("orders") view={Lazy::<OrdersRoute>::new()}/>
                    <Route path=path!("segments") view={Lazy::<SegmentsRoute>::new()}/>
                    <Route path=path!("segments/new") view={Lazy::<NewSegmentRoute>::new()}/>
                    <Route path=path!("segments/:id") view={Lazy::<SegmentRoute>::new()}/>
                    <Route path=path!("segments/:id/edit") view={Lazy::<EditSegmentRoute>::new()}/>
                    <Route path=path!("campaigns") view={Lazy::<CampaignsRoute>::new()}/>
                    <Route path=path!("campaigns/new") view={Lazy::<NewCampaignRoute>::new()}/>
                    <Route path=path!("campaigns/:id") view={Lazy::<CampaignRoute>::new()}/>
                    <Route path=path!("campaigns/:id/edit") view={Lazy::<EditCampaignRoute>::new()}/>
                    <Route path=path!("admin/users") view={Lazy::<UsersRoute>::new()}/>
                    <Route path=path!("admin/api-keys") view={Lazy::<ApiKeysRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Pages whose code leaves the main bundle (all but the dashboard), one piece of WASM per feature: with
/// `cargo leptos --split` each feature's pages are a file of their own (plus pieces shared with other features),
/// fetched when one of its routes is first shown, during hydration for the page a visit starts on. One file per
/// feature rather than per page keeps the number of requests of a first visit low; the pages of a feature share most
/// of their code anyway. Each page loads its data itself, so a route's `data` has nothing to start.
///
/// `preload` fetches the feature's piece without running it. The router awaits it before it hydrates the page a
/// visit starts on, so the page's code is there when the server's HTML is hydrated; without it the route's view is
/// still loading and hydration finds a placeholder where the server wrote the page. `#[lazy]` names the preloader
/// of `loader` `__preload_loader`, which a `macro_rules!` cannot spell, hence the second name.
macro_rules! lazy_features {
    ($($feature:ident($loader:ident, $preload:ident) { $($route:ident => $page:ident),* $(,)? })*) => {$(
        #[derive(Clone, Copy)]
        #[allow(clippy::enum_variant_names)]
        enum $feature {
            $($page),*
        }

        #[leptos::lazy]
        fn $loader(page: $feature) -> AnyView {
            match page {
                $($feature::$page => view! { <$page/> }.into_any()),*
            }
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                async fn view(_this: Self) -> AnyView {
                    $loader($feature::$page).await
                }

                async fn preload() {
                    // The server has every page in one binary; only the browser's build is split.
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )*
    )*};
}

lazy_features! {
    // Drawn by the app only when reached from inside it (signing out, a password to change); a first visit to the
    // sign-in and setup pages loads no WASM at all (`PLAIN_PAGES`).
    AccessPages(access_pages, __preload_access_pages) {
        SignInRoute => SignInPage,
        SetupRoute => SetupPage,
        ChangePasswordRoute => ChangePasswordPage,
    }
    AdminPages(admin_pages, __preload_admin_pages) {
        UsersRoute => UsersPage,
        ApiKeysRoute => ApiKeysPage,
    }
    CustomerPages(customer_pages, __preload_customer_pages) {
        CustomersRoute => CustomersPage,
        CustomerRoute => CustomerPage,
    }
    OrderPages(order_pages, __preload_order_pages) {
        OrdersRoute => OrdersPage,
    }
    SegmentPages(segment_pages, __preload_segment_pages) {
        SegmentsRoute => SegmentsPage,
        NewSegmentRoute => NewSegmentPage,
        SegmentRoute => SegmentPage,
        EditSegmentRoute => EditSegmentPage,
    }
    CampaignPages(campaign_pages, __preload_campaign_pages) {
        CampaignsRoute => CampaignsPage,
        NewCampaignRoute => NewCampaignPage,
        CampaignRoute => CampaignPage,
        EditCampaignRoute => EditCampaignPage,
    }
}
