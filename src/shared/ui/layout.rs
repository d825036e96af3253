//! The frame around every signed-in page: navigation, the signed-in user, and the content.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::{
    auth::{
        api::{signed_in_user, SignOut},
        model::CurrentUser,
    },
    shared::records::RecordKind,
};

const LINK_CLASS: &str = "block rounded-md px-3 py-2 text-sm font-medium text-slate-300 hover:bg-slate-800 \
                          hover:text-white aria-[current=page]:bg-slate-800 aria-[current=page]:text-white";

/// The frame of every signed-in page, around the matched child route.
#[component]
pub fn AppLayout() -> impl IntoView {
    view! {
        <AppFrame>
            <Outlet/>
        </AppFrame>
    }
}

/// A sidebar on wide screens, a top bar with a menu button on narrow ones.
#[component]
pub fn AppFrame(children: Children) -> impl IntoView {
    let (menu_open, set_menu_open) = signal(false);
    let user = Resource::new(|| (), |()| signed_in_user());

    view! {
        <div class="min-h-screen md:flex">
            <header class="flex h-14 items-center justify-between bg-slate-900 px-4 text-white md:hidden">
                <a href="/" class="text-lg font-semibold tracking-tight">"Realm"</a>
                <button
                    type="button"
                    class="rounded-md border border-slate-600 px-3 py-1.5 text-sm font-medium hover:bg-slate-800"
                    aria-controls="main-nav"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| set_menu_open.update(|open| *open = !*open)
                >
                    {move || if menu_open.get() { "Close" } else { "Menu" }}
                </button>
            </header>
            <nav
                id="main-nav"
                aria-label="Main"
                class=move || {
                    let visibility = if menu_open.get() { "block" } else { "hidden" };
                    format!(
                        "{visibility} bg-slate-900 px-3 pb-4 md:flex md:min-h-screen md:w-56 md:shrink-0 md:flex-col md:pt-4",
                    )
                }
            >
                <a href="/" class="mb-4 hidden px-3 text-xl font-semibold tracking-tight text-white md:block">
                    "Realm"
                </a>
                // Choosing a page in the narrow-screen menu should reveal it, not leave the menu over it.
                <ul class="space-y-1" on:click=move |_| set_menu_open.set(false)>
                    <li>
                        <A href="/" exact=true {..} class=LINK_CLASS>"Dashboard"</A>
                    </li>
                    {RecordKind::ALL
                        .into_iter()
                        .map(|kind| {
                            view! {
                                <li>
                                    <A href=kind.href() {..} class=LINK_CLASS>{kind.title()}</A>
                                </li>
                            }
                        })
                        .collect_view()}
                    <Transition>
                        {move || Suspend::new(async move {
                            user.await.ok().flatten().filter(CurrentUser::is_admin).map(|_| view! { <AdminLinks/> })
                        })}
                    </Transition>
                </ul>
                <Transition>
                    {move || Suspend::new(async move {
                        user.await.ok().flatten().map(|user| view! { <SignedInAs user/> })
                    })}
                </Transition>
            </nav>
            <main class="min-w-0 flex-1 px-4 py-6 md:px-10 md:py-8">{children()}</main>
        </div>
    }
}

#[component]
fn AdminLinks() -> impl IntoView {
    view! {
        <li class="px-3 pb-1 pt-4 text-xs font-semibold uppercase tracking-wide text-slate-400">"Admin"</li>
        <li>
            <A href="/admin/users" {..} class=LINK_CLASS>"Users"</A>
        </li>
        <li>
            <A href="/admin/api-keys" {..} class=LINK_CLASS>"API keys"</A>
        </li>
    }
}

#[component]
fn SignedInAs(user: CurrentUser) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <div class="mt-6 border-t border-slate-800 px-3 pt-4 text-sm text-slate-300 md:mt-auto">
            <p class="font-medium text-white" data-signed-in-as=user.email.clone()>{user.name}</p>
            <p class="text-xs text-slate-400">{format!("{} · {}", user.email, user.role.as_str())}</p>
            <a href="/account/password" class="mt-3 block text-sm font-medium text-slate-300 underline hover:text-white">
                "Change password"
            </a>
            <ActionForm action=sign_out>
                <button type="submit" class="mt-2 text-sm font-medium text-slate-300 underline hover:text-white">
                    "Sign out"
                </button>
            </ActionForm>
        </div>
    }
}
