//! `/setup`: the first owner's account, on a fresh install only.

use leptos::prelude::*;

use crate::auth::api::CreateOwner;
use crate::{
    auth::view::sign_in::AuthCard,
    shared::ui::form::{field_error, form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS},
};

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
