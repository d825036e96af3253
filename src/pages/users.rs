use leptos::{html, prelude::*};
use serde::{Deserialize, Serialize};

use crate::{
    auth::Role,
    components::{
        data_table::DataTable,
        error_notice::ErrorNotice,
        form::{
            field_error, form_error, FieldMessage, FormAlert, TextField, INPUT_CLASS,
            PRIMARY_BUTTON_CLASS, SECONDARY_BUTTON_CLASS,
        },
        page_header::PageHeader,
    },
    error::AppError,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub created: String,
}

#[server]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::server::{auth::guard::require_admin, mongo::display_time, state::AppState};
    require_admin().await?;
    let state = expect_context::<AppState>();
    let users = state.accounts.users.list().await?;
    Ok(users
        .into_iter()
        .map(|user| UserSummary {
            id: user.id.to_hex(),
            name: user.name,
            email: user.email,
            role: user.role,
            active: user.active,
            created: display_time(user.created_at),
        })
        .collect())
}

#[server]
pub async fn create_user(
    name: String,
    email: String,
    role: String,
    password: String,
) -> Result<String, AppError> {
    use crate::server::{auth::guard::require_admin, state::AppState};
    let admin = require_admin().await?;
    let role = Role::parse(&role)?;
    let state = expect_context::<AppState>();
    let user = state
        .accounts
        .users
        .create(&name, &email, role, &password)
        .await?;
    tracing::info!(admin = %admin.email, user = %user.email, role = role.as_str(), "user created");
    Ok(user.email)
}

#[server]
pub async fn change_role(id: String, role: String) -> Result<(), AppError> {
    use crate::server::{auth::guard::require_admin, state::AppState};
    let admin = require_admin().await?;
    let role = Role::parse(&role)?;
    expect_context::<AppState>()
        .accounts
        .users
        .set_role(&id, role)
        .await?;
    tracing::info!(admin = %admin.email, user = %id, role = role.as_str(), "role changed");
    Ok(())
}

#[server]
pub async fn set_user_active(id: String, active: bool) -> Result<(), AppError> {
    use crate::server::{auth::guard::require_admin, state::AppState};
    let admin = require_admin().await?;
    if !active && admin.id == id {
        return Err(AppError::Conflict(
            "You cannot deactivate your own account.".to_owned(),
        ));
    }
    expect_context::<AppState>()
        .accounts
        .users
        .set_active(&id, active)
        .await?;
    tracing::info!(admin = %admin.email, user = %id, active, "user activation changed");
    Ok(())
}

/// An admin sets a temporary password; the user must choose their own at their next request.
#[server]
pub async fn reset_password(id: String, password: String) -> Result<String, AppError> {
    use crate::server::{auth::guard::require_admin, state::AppState};
    let admin = require_admin().await?;
    let users = &expect_context::<AppState>().accounts.users;
    users.set_password(&id, &password, true).await?;
    let email = users
        .find_by_id(&id)
        .await?
        .map(|user| user.email)
        .unwrap_or_default();
    tracing::info!(admin = %admin.email, user = %email, "password reset");
    Ok(email)
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let change = ServerAction::<ChangeRole>::new();
    let activation = ServerAction::<SetUserActive>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                change.version().get(),
                activation.version().get(),
            )
        },
        |_| list_users(),
    );

    let form = NodeRef::<html::Form>::new();
    let created = create.value();
    Effect::new(move |_| {
        if matches!(created.get(), Some(Ok(_))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });

    view! {
        <PageHeader title="Users" subtitle="Who can sign in to Realm, and what they may do."/>
        <div class="space-y-3">
            <FormAlert message=form_error(change.value())/>
            <FormAlert message=form_error(activation.value())/>
            <FormAlert message=form_error(reset.value())/>
            {move || reset.value().get().and_then(Result::ok).map(|email| view! {
                <p role="status" class="text-sm text-emerald-700">
                    {format!("The password of {email} is reset; they choose a new one when they next sign in.")}
                </p>
            })}
        </div>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(users) => view! { <UserTable users change activation reset/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>

        <section aria-labelledby="add-user-heading" class="mt-10 max-w-md rounded-lg border border-slate-200 bg-white p-6">
            <h2 id="add-user-heading" class="text-lg font-semibold">"Add a user"</h2>
            <p class="mb-4 mt-1 text-sm text-slate-600">
                "Give them the email and password you set here; they can sign in straight away."
            </p>
            <ActionForm action=create node_ref=form>
                <div class="space-y-4">
                    <TextField label="Name" name="name" error=field_error(created, "name")/>
                    <TextField label="Email" name="email" kind="email" error=field_error(created, "email")/>
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Role"</span>
                        <select name="role" class=INPUT_CLASS>
                            <option value="marketer" selected=true>"Marketer"</option>
                            <option value="admin">"Admin"</option>
                        </select>
                        <FieldMessage id="role-error".to_owned() message=field_error(created, "role")/>
                    </label>
                    <TextField
                        label="Initial password (at least 12 characters)"
                        name="password"
                        kind="password"
                        autocomplete="new-password"
                        error=field_error(created, "password")
                    />
                    <FormAlert message=form_error(created)/>
                    {move || {
                        created
                            .get()
                            .and_then(Result::ok)
                            .map(|email| view! { <p role="status" class="text-sm text-emerald-700">{format!("Added {email}.")}</p> })
                    }}
                    <button type="submit" class=PRIMARY_BUTTON_CLASS disabled=move || create.pending().get()>"Add user"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn UserTable(
    users: Vec<UserSummary>,
    change: ServerAction<ChangeRole>,
    activation: ServerAction<SetUserActive>,
    reset: ServerAction<ResetPassword>,
) -> impl IntoView {
    view! {
        <DataTable label="Users" headers=&["Name", "Email", "Role", "Status", "Password", "Added"]>
                    {users
                        .into_iter()
                        .map(|user| {
                            let (role_form_id, activation_form_id, reset_form_id) =
                                (user.id.clone(), user.id.clone(), user.id.clone());
                            let row_email = user.email.clone();
                            view! {
                                <tr data-user=row_email>
                                    <td class="px-4 py-3 font-medium">{user.name}</td>
                                    <td class="px-4 py-3">{user.email}</td>
                                    <td class="px-4 py-3">
                                        <ActionForm action=change>
                                            <div class="flex items-center gap-2">
                                                <input type="hidden" name="id" value=role_form_id/>
                                                <select name="role" aria-label="Role" class="rounded-md border border-slate-300 px-2 py-1 text-sm">
                                                    {Role::ALL
                                                        .into_iter()
                                                        .map(|role| {
                                                            view! {
                                                                <option value=role.as_str() selected=role == user.role>
                                                                    {role.as_str()}
                                                                </option>
                                                            }
                                                        })
                                                        .collect_view()}
                                                </select>
                                                <button type="submit" class=SECONDARY_BUTTON_CLASS>"Change role"</button>
                                            </div>
                                        </ActionForm>
                                    </td>
                                    <td class="px-4 py-3">
                                        <ActionForm action=activation>
                                            <div class="flex items-center gap-2">
                                                <span class=if user.active { "text-emerald-700" } else { "text-slate-500" }>
                                                    {if user.active { "Active" } else { "Deactivated" }}
                                                </span>
                                                <input type="hidden" name="id" value=activation_form_id/>
                                                <input type="hidden" name="active" value=(!user.active).to_string()/>
                                                <button type="submit" class=SECONDARY_BUTTON_CLASS>
                                                    {if user.active { "Deactivate" } else { "Reactivate" }}
                                                </button>
                                            </div>
                                        </ActionForm>
                                    </td>
                                    <td class="px-4 py-3">
                                        <ActionForm action=reset>
                                            <div class="flex items-center gap-2">
                                                <input type="hidden" name="id" value=reset_form_id/>
                                                <input
                                                    type="password"
                                                    name="password"
                                                    autocomplete="new-password"
                                                    aria-label="Temporary password"
                                                    placeholder="Temporary password"
                                                    class="w-44 rounded-md border border-slate-300 px-2 py-1 text-sm"
                                                />
                                                <button type="submit" class=SECONDARY_BUTTON_CLASS>"Reset password"</button>
                                            </div>
                                        </ActionForm>
                                    </td>
                                    <td class="px-4 py-3 text-slate-600">{user.created}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
        </DataTable>
    }
}
