use leptos::prelude::*;

use crate::{
    components::form::{field_error, form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS},
    error::AppError,
    pages::sign_in::AuthCard,
};

/// First run: creates the owner (an admin) while no account exists, and signs them in.
#[server]
pub async fn create_owner(
    name: String,
    email: String,
    password: String,
    password_confirmation: String,
) -> Result<(), AppError> {
    use crate::server::{auth::guard, state::AppState};

    if password != password_confirmation {
        return Err(AppError::invalid(
            "password_confirmation",
            "The two passwords differ.",
        ));
    }
    let state = expect_context::<AppState>();
    let session = guard::current_session().await?;
    let owner = state
        .accounts
        .users
        .create_owner(&name, &email, &password)
        .await?;
    guard::start_session(&session, &owner.to_current_user()).await?;
    tracing::info!(user = %owner.email, "owner account created");
    leptos_axum::redirect("/");
    Ok(())
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let create = ServerAction::<CreateOwner>::new();
    let result = create.value();
    view! {
        <AuthCard title="Create the owner account">
            <p class="mb-5 text-sm text-slate-600">
                "Realm has no accounts yet. The owner is an admin, who can then add the rest of the team."
            </p>
            <ActionForm action=create>
                <div class="space-y-4">
                    <TextField label="Your name" name="name" autocomplete="name" error=field_error(result, "name")/>
                    <TextField label="Email" name="email" kind="email" autocomplete="username" error=field_error(result, "email")/>
                    <TextField
                        label="Password (at least 12 characters)"
                        name="password"
                        kind="password"
                        autocomplete="new-password"
                        error=field_error(result, "password")
                    />
                    <TextField
                        label="Password again"
                        name="password_confirmation"
                        kind="password"
                        autocomplete="new-password"
                        error=field_error(result, "password_confirmation")
                    />
                    <FormAlert message=form_error(result)/>
                    <button type="submit" class=format!("{PRIMARY_BUTTON_CLASS} w-full") disabled=move || create.pending().get()>
                        "Create account"
                    </button>
                </div>
            </ActionForm>
        </AuthCard>
    }
}
