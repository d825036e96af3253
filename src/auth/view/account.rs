//! The signed-in user's own password: changed at will, or chosen after an admin's reset before anything else.

use leptos::prelude::*;

use crate::auth::api::ChangePassword;
use crate::{
    auth::view::sign_in::AuthCard,
    shared::ui::form::{field_error, form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS},
};

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let result = change.value();
    let user = Resource::new(|| (), |()| crate::auth::api::signed_in_user());
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
