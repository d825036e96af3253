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
    use std::{
        net::{IpAddr, Ipv4Addr, SocketAddr},
        time::Instant,
    };

    use axum::extract::ConnectInfo;

    use crate::{
        auth::safe_return_path,
        server::{
            auth::{guard, passwords},
            state::AppState,
        },
    };

    let state = expect_context::<AppState>();
    let session = guard::current_session().await?;
    let address = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|ConnectInfo(address)| address.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let throttle = &state.accounts.sign_in_throttle;
    if let Some(wait) = throttle.wait_needed(address, Instant::now()) {
        return Err(AppError::TooManyRequests(format!(
            "Too many failed sign-ins from your address; try again in {} s.",
            wait.as_secs().max(1)
        )));
    }

    let user = state
        .accounts
        .users
        .find_by_email(&email)
        .await?
        .filter(|user| user.active);
    let verified = match &user {
        Some(user) => passwords::verify(password, user.password_hash.clone()).await,
        None => {
            passwords::verify_against_nothing(password).await;
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        throttle.record_failure(address, Instant::now());
        // The same answer whether the email or the password was wrong, so it cannot be used to find accounts.
        return Err(AppError::Unauthorized(
            "Wrong email or password.".to_owned(),
        ));
    };
    throttle.record_success(address);
    guard::start_session(&session, &user.to_current_user()).await?;
    tracing::info!(user = %user.email, "signed in");
    leptos_axum::redirect(&safe_return_path(next.as_deref()));
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
