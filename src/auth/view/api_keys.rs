//! `/admin/api-keys`: keys for scripts and the original app's clients (admins only).

use leptos::{html, prelude::*};

use crate::auth::api::{list_api_keys, CreateApiKey, RevokeApiKey};
use crate::auth::model::ApiKeySummary;
use crate::shared::ui::{
    data_table::DataTable,
    empty_state::EmptyState,
    error_notice::ErrorNotice,
    form::{
        field_error, form_error, FormAlert, TextField, PRIMARY_BUTTON_CLASS, SECONDARY_BUTTON_CLASS,
    },
    page_header::PageHeader,
};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let created = create.value();
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if matches!(created.get(), Some(Ok(_))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });

    view! {
        <PageHeader
            title="API keys"
            subtitle="Keys let other systems call Realm's REST API, e.g. to submit orders, with 'Authorization: Bearer <key>'."
        />
        <section class="mb-8 max-w-xl rounded-lg border border-slate-200 bg-white p-6">
            <h2 class="text-lg font-semibold">"Create a key"</h2>
            <ActionForm action=create node_ref=form>
                <div class="mt-4 flex items-start gap-3">
                    <div class="flex-1">
                        <TextField label="Name" name="name" error=field_error(created, "name")/>
                    </div>
                    <button type="submit" class=format!("{PRIMARY_BUTTON_CLASS} mt-6") disabled=move || create.pending().get()>
                        "Create key"
                    </button>
                </div>
            </ActionForm>
            <div class="mt-3">
                <FormAlert message=form_error(created)/>
            </div>
            {move || {
                created
                    .get()
                    .and_then(Result::ok)
                    .map(|key| {
                        view! {
                            <div role="status" class="mt-4 rounded-md border border-amber-300 bg-amber-50 p-4 text-sm">
                                <p class="font-medium">
                                    {format!("Copy the key for \u{201c}{}\u{201d} now: it will not be shown again.", key.name)}
                                </p>
                                <code data-new-api-key class="mt-2 block break-all rounded bg-white px-2 py-1 font-mono text-xs">
                                    {key.secret}
                                </code>
                            </div>
                        }
                    })
            }}
        </section>
        <FormAlert message=form_error(revoke.value())/>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(keys) if keys.is_empty() => view! {
                        <EmptyState title="No API keys yet" message="Keys you create appear here with when they were last used."/>
                    }
                    .into_any(),
                    Ok(keys) => view! { <ApiKeyTable keys revoke/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ApiKeyTable(keys: Vec<ApiKeySummary>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <DataTable label="API keys" headers=&["Name", "Key", "Created", "Last used", "Status"]>
                    {keys
                        .into_iter()
                        .map(|key| {
                            let row_name = key.name.clone();
                            view! {
                                <tr data-api-key=row_name>
                                    <td class="px-4 py-3 font-medium">{key.name}</td>
                                    <td class="px-4 py-3 font-mono text-xs">{format!("{}…", key.display_prefix)}</td>
                                    <td class="px-4 py-3 text-slate-600">{key.created}</td>
                                    <td class="px-4 py-3 text-slate-600">{key.last_used.unwrap_or_else(|| "never".to_owned())}</td>
                                    <td class="px-4 py-3">
                                        {match key.revoked {
                                            Some(at) => view! { <span class="text-slate-500">{format!("Revoked {at}")}</span> }.into_any(),
                                            None => view! {
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="id" value=key.id/>
                                                    <button type="submit" class=SECONDARY_BUTTON_CLASS>"Revoke"</button>
                                                </ActionForm>
                                            }
                                            .into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
        </DataTable>
    }
}
