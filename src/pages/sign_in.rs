use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::form::{form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS},
    error::AppError,
};

#[server]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use std::time::Instant;

    use crate::{
        auth::safe_return_path,
        server::{
            auth::{
                guard,
                throttle::{too_many_failures, ThrottleKey},
            },
            state::AppState,
        },
    };

    let state = expect_context::<AppState>();
    let session = guard::current_session().await?;
    let client = ThrottleKey::client(guard::client_address().await);
    // Refused at once while this client must wait: no database lookup, no password check.
    if let Some(wait) = state
        .accounts
        .sign_in_throttle
        .wait_needed(&client, Instant::now())
    {
        return Err(too_many_failures(wait));
    }
    let user = state
        .accounts
        .users
        .find_by_email(&email)
        .await?
        .filter(|user| user.active);
    let mut keys = vec![client];
    if let Some(user) = &user {
        keys.push(ThrottleKey::Account(user.id.to_hex()));
    }
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let verified = state
        .accounts
        .check_password(&keys, password, stored_hash)
        .await?;
    let Some(user) = user.filter(|_| verified) else {
        // The same answer whether the email or the password was wrong, so it cannot be used to find accounts.
        return Err(AppError::Unauthorized(
            "Wrong email or password.".to_owned(),
        ));
    };
    guard::start_session(&session, &user.to_current_user()).await?;
    tracing::info!(user = %user.email, "signed in");
    if user.must_change_password {
        leptos_axum::redirect(crate::pages::account::CHANGE_PASSWORD_PATH);
    } else {
        leptos_axum::redirect(&safe_return_path(next.as_deref()));
    }
    Ok(())
}

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
