//! `/admin/users`: people, their roles, deactivation and password resets (admins only).

use leptos::{html, prelude::*};

use crate::auth::api::{list_users, ChangeRole, CreateUser, ResetPassword, SetUserActive};
use crate::auth::model::UserSummary;
use crate::{
    auth::model::Role,
    shared::ui::{
        data_table::DataTable,
        error_notice::ErrorNotice,
        form::{
            field_error, form_error, FieldMessage, FormAlert, TextField, INPUT_CLASS,
            PRIMARY_BUTTON_CLASS, SECONDARY_BUTTON_CLASS,
        },
        page_header::PageHeader,
    },
};

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
