//! `/sign-in`, and the card the other account pages share.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::api::SignIn;
use crate::shared::ui::form::{form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS};

#[component]
pub fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title/>
        <main class="flex min-h-screen items-center justify-center px-4 py-10">
            <div class="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
                <p class="text-lg font-semibold tracking-tight text-indigo-700">"Realm"</p>
                <h1 class="mb-6 mt-1 text-2xl font-semibold tracking-tight">{title}</h1>
                {children()}
            </div>
        </main>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <AuthCard title="Sign in">
            <ActionForm action=sign_in>
                <div class="space-y-4">
                    <input type="hidden" name="next" value=next/>
                    <TextField label="Email" name="email" kind="email" autocomplete="username"/>
                    <TextField label="Password" name="password" kind="password" autocomplete="current-password"/>
                    <FormAlert message=form_error(sign_in.value())/>
                    <button type="submit" class=format!("{PRIMARY_BUTTON_CLASS} w-full") disabled=move || sign_in.pending().get()>
                        "Sign in"
                    </button>
                </div>
            </ActionForm>
        </AuthCard>
    }
}
