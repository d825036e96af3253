//! The signed-in user's own password: changed at will, or chosen after an admin's reset before anything else.

use leptos::prelude::*;

use crate::{
    components::form::{field_error, form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS},
    error::AppError,
    pages::sign_in::AuthCard,
};

/// Where a user whose password was reset is sent until they choose a new one.
pub const CHANGE_PASSWORD_PATH: &str = "/account/password";

#[server]
pub async fn change_password(
    current_password: String,
    password: String,
    password_confirmation: String,
) -> Result<(), AppError> {
    use crate::server::{
        auth::{
            guard::{self, require_user},
            throttle::ThrottleKey,
        },
        state::AppState,
    };

    let user = require_user().await?;
    let state = expect_context::<AppState>();
    if password != password_confirmation {
        return Err(AppError::invalid(
            "password_confirmation",
            "The two new passwords differ.",
        ));
    }
    crate::auth::validate_new_password(&password)?;
    if password == current_password {
        return Err(AppError::invalid(
            "password",
            "Choose a password other than the current one.",
        ));
    }
    // Checking the current password is a sign-in attempt: it is throttled like one.
    let keys = [
        ThrottleKey::client(guard::client_address().await),
        ThrottleKey::Account(user.id.clone()),
    ];
    let stored = state
        .accounts
        .users
        .find_by_id(&user.id)
        .await?
        .map(|record| record.password_hash);
    if !state
        .accounts
        .check_password(&keys, current_password, stored)
        .await?
    {
        return Err(AppError::invalid(
            "current_password",
            "This is not your current password.",
        ));
    }
    state
        .accounts
        .users
        .set_password(&user.id, &password, false)
        .await?;
    tracing::info!(user = %user.email, "password changed");
    Ok(())
}

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let result = change.value();
    let user = Resource::new(|| (), |()| crate::auth::signed_in_user());
    view! {
        <AuthCard title="Change your password">
            <Suspense>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().filter(|user| user.must_change_password).map(|_| view! {
                        <p role="status" class="mb-5 text-sm text-amber-800">
                            "An admin reset your password. Choose a new one to go on."
                        </p>
                    })
                })}
            </Suspense>
            <ActionForm action=change>
                <div class="space-y-4">
                    <TextField
                        label="Current password"
                        name="current_password"
                        kind="password"
                        autocomplete="current-password"
                        error=field_error(result, "current_password")
                    />
                    <TextField
                        label="New password (at least 12 characters)"
                        name="password"
                        kind="password"
                        autocomplete="new-password"
                        error=field_error(result, "password")
                    />
                    <TextField
                        label="New password again"
                        name="password_confirmation"
                        kind="password"
                        autocomplete="new-password"
                        error=field_error(result, "password_confirmation")
                    />
                    <FormAlert message=form_error(result)/>
                    {move || matches!(result.get(), Some(Ok(()))).then(|| view! {
                        <p role="status" class="text-sm text-emerald-700">
                            "Your password is changed. " <a href="/" class="font-medium underline">"Go to the dashboard"</a>
                        </p>
                    })}
                    <button type="submit" class=format!("{PRIMARY_BUTTON_CLASS} w-full") disabled=move || change.pending().get()>
                        "Change password"
                    </button>
                </div>
            </ActionForm>
        </AuthCard>
    }
}
