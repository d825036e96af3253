//! `/customers`: search, sort and page through customers, and import them from a file.

use crate::shared::money::{money, thousands};
use std::{cell::Cell, rc::Rc};

use crate::shared::ui::chunked_upload::{ChunkedUpload, UploadOutcome, UploadProgress};

use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};
use serde_json::Value;

use crate::{
    customers::{
        api::{import_customers, list_customers},
        model::{parse_customer, parse_customers_json, CustomerRow, CustomerSort, COUNT_LIMIT},
    },
    segments::api::list_segments,
    shared::{
        import::{read_csv, ReadLimits},
        ui::{
            data_table::DataTable,
            empty_state::EmptyState,
            error_notice::ErrorNotice,
            file_picker::FilePicker,
            form::{INPUT_CLASS, PRIMARY_BUTTON_CLASS, SECONDARY_BUTTON_CLASS},
            links::query_href,
            page_header::PageHeader,
        },
    },
};

/// Customers per import request: each part is checked and stored on its own.
const IMPORT_CHUNK: usize = 1_000;

#[component]
pub fn CustomersPage() -> impl IntoView {
    let (imported, set_imported) = signal(0_u32);
    view! {
        <PageHeader title="Customers" subtitle="Everyone who has ordered or been imported, with their order totals."/>
        <div class="space-y-8">
            <CustomerImport on_imported=Callback::new(move |()| set_imported.update(|n| *n += 1))/>
            <CustomerList refresh=imported/>
        </div>
    }
}

#[derive(Clone, Debug, PartialEq)]
struct ParsedCustomers {
    name: String,
    /// The rows that pass the checks, ready to send.
    valid: Vec<Value>,
    /// Row number (from 1) and what is wrong with it.
    problems: Vec<(usize, String)>,
    sample: Vec<Value>,
}

fn parse_customer_file(name: &str, text: &str) -> Result<ParsedCustomers, String> {
    let rows = if name.to_lowercase().ends_with(".csv") {
        read_csv(text, ReadLimits::UNLIMITED)
    } else {
        parse_customers_json(text, ReadLimits::UNLIMITED).map(|read| read.records)
    }?;
    if rows.is_empty() {
        return Err("The file holds no customers.".to_owned());
    }
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match parse_customer(row) {
            Ok(_) => valid.push(row.clone()),
            Err(problem) => problems.push((index + 1, problem.to_string())),
        }
    }
    Ok(ParsedCustomers {
        name: name.to_owned(),
        valid,
        problems,
        sample: rows.into_iter().take(10).collect(),
    })
}

#[component]
fn CustomerImport(on_imported: Callback<()>) -> impl IntoView {
    let parsed = RwSignal::new(None::<Result<ParsedCustomers, String>>);
    let upload = ChunkedUpload::default();
    let on_file = Callback::new(move |(name, text): (String, Result<String, String>)| {
        parsed.set(Some(
            text.and_then(|text| parse_customer_file(&name, &text)),
        ));
        upload.clear();
    });
    let send = move |_| {
        let Some(Ok(file)) = parsed.get_untracked() else {
            return;
        };
        let parts: Vec<Vec<Value>> = file
            .valid
            .chunks(IMPORT_CHUNK)
            .map(<[Value]>::to_vec)
            .collect();
        // Created and updated so far, added up over the parts.
        let counted = Rc::new(Cell::new((0, 0)));
        let adding = counted.clone();
        let import = move |_, part: Vec<Value>| {
            let counted = adding.clone();
            async move {
                let outcome = import_customers(part).await?;
                let (created, updated) = counted.get();
                counted.set((created + outcome.created, updated + outcome.updated));
                Ok(())
            }
        };
        upload.send(parts, 0, import, move |_| {
            on_imported.run(());
            let (created, updated) = counted.get();
            format!("{created} customers added, {updated} updated.")
        });
    };

    view! {
        <details class="rounded-lg border border-slate-200 bg-white p-5">
            <summary class="cursor-pointer text-lg font-semibold">"Import customers"</summary>
            <p class="mt-2 text-sm text-slate-600">
                "A CSV file with a header line (name, email, phone, city, tags, and optionally totalSpending, visits, "
                "lastVisited for orders made before Realm) or a JSON file with {\"customers\": [...]}. Customers are matched "
                "by email: importing one again updates it instead of adding a second."
            </p>
            <div class="mt-4 max-w-md">
                <FilePicker label="Customer file (.csv or .json)" accept=".csv,.json,text/csv,application/json" on_loaded=on_file/>
            </div>
            {move || parsed.get().map(|result| match result {
                Err(message) => view! { <p role="alert" class="mt-4 text-sm text-red-700">{message}</p> }.into_any(),
                Ok(file) => view! { <ImportPreview file/> }.into_any(),
            })}
            {move || match parsed.get() {
                Some(Ok(file)) if !file.valid.is_empty() => Some(view! {
                    <div class="mt-4 flex flex-wrap items-center gap-4">
                        <button type="button" class=PRIMARY_BUTTON_CLASS disabled=move || upload.sending() on:click=send>
                            {format!("Import {} customers", file.valid.len())}
                        </button>
                        <UploadProgress upload label="Import progress"/>
                    </div>
                }),
                _ => None,
            }}
            <UploadOutcome upload/>
        </details>
    }
}

#[component]
fn ImportPreview(file: ParsedCustomers) -> impl IntoView {
    let text = |row: &Value, key: &str| {
        row.get(key)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default()
    };
    view! {
        <div class="mt-4">
            <p class="text-sm font-medium" data-import-summary>
                {format!("{}: {} customers ready, {} with problems.", file.name, file.valid.len(), file.problems.len())}
            </p>
            {(!file.problems.is_empty()).then(|| view! {
                <p class="mt-1 text-sm text-slate-600">"Rows with problems are left out of the import; fix them in the file and import it again."</p>
                <ul class="mt-2 max-h-40 overflow-y-auto rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-800" aria-label="Row problems">
                    {file.problems.iter().take(200).map(|(row, reason)| view! { <li>{format!("Row {row}: {reason}")}</li> }).collect_view()}
                </ul>
            })}
            <table class="mt-3 min-w-full text-left text-xs">
                <thead class="text-slate-500">
                    <tr><th class="py-1 pr-4">"Row"</th><th class="py-1 pr-4">"Name"</th><th class="py-1 pr-4">"Email"</th><th class="py-1 pr-4">"City"</th><th class="py-1 pr-4">"Tags"</th></tr>
                </thead>
                <tbody>
                    {file.sample.iter().enumerate().map(|(i, row)| view! {
                        <tr class="border-t border-slate-100">
                            <td class="py-1 pr-4">{i + 1}</td>
                            <td class="py-1 pr-4">{text(row, "name")}</td>
                            <td class="py-1 pr-4">{text(row, "email")}</td>
                            <td class="py-1 pr-4">{text(row, "city")}</td>
                            <td class="py-1 pr-4">{text(row, "tags")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn CustomerList(refresh: ReadSignal<u32>) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).filter(|v| !v.is_empty());
    let customers = Resource::new(
        move || {
            (
                refresh.get(),
                param("search"),
                param("tag"),
                param("segment"),
                param("sort"),
                param("after"),
                param("before"),
            )
        },
        |(_, search, tag, segment, sort, after, before)| {
            list_customers(search, tag, segment, sort, after, before)
        },
    );
    let segments = Resource::new(|| (), |()| list_segments());
    // A page link keeps the filters and replaces the position.
    let page_href = move |key: &'static str, cursor: String| {
        query_href(
            "/customers",
            &query.get(),
            &["after", "before"],
            (key, cursor),
        )
    };
    let value = move |name: &'static str| move || param(name).unwrap_or_default();

    view! {
        <section aria-labelledby="list-heading">
            <h2 id="list-heading" class="sr-only">"Customer list"</h2>
            <Form action="/customers">
                <div class="mb-4 grid grid-cols-2 gap-3 text-sm md:grid-cols-5">
                    <label class="col-span-2 block">"Search name, email or phone"<input name="search" type="search" class=INPUT_CLASS prop:value=value("search")/></label>
                    <label class="block">"Tag"<input name="tag" class=INPUT_CLASS prop:value=value("tag")/></label>
                    <label class="block">"Segment"
                        <select name="segment" class=INPUT_CLASS prop:value=value("segment")>
                            <option value="">"All customers"</option>
                            <Suspense>
                                {move || Suspend::new(async move {
                                    let selected = param("segment").unwrap_or_default();
                                    segments.await.unwrap_or_default().into_iter().map(|segment| {
                                        let is_selected = segment.id == selected;
                                        view! { <option value=segment.id selected=is_selected>{segment.name}</option> }
                                    }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </label>
                    <label class="block">"Sort"
                        <select name="sort" class=INPUT_CLASS prop:value=value("sort")>
                            {CustomerSort::ALL.into_iter().map(|sort| view! { <option value=sort.key()>{sort.label()}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <button type="submit" class=SECONDARY_BUTTON_CLASS>"Apply"</button>
            </Form>
            <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading customers…"</p> }>
                {move || Suspend::new(async move {
                    match customers.await {
                        Err(error) => view! { <div class="mt-4"><ErrorNotice error/></div> }.into_any(),
                        Ok(page) if page.rows.is_empty() => view! {
                            <div class="mt-4"><EmptyState title="No customers match" message="Customers appear here when orders are ingested or a customer list is imported; change the search or filters to see more."/></div>
                        }.into_any(),
                        Ok(page) => {
                            let matching = if page.matching > COUNT_LIMIT { format!("More than {} customers", thousands(COUNT_LIMIT)) } else { format!("{} customers", thousands(page.matching)) };
                            view! {
                                <p class="mt-4 text-sm text-slate-600" data-customer-total>{matching}</p>
                                <div class="mt-2">
                                    <DataTable label="Customers" headers=&["Customer", "Phone", "City", "Tags", "Orders", "Total spend", "Last order"] numeric=&["Orders", "Total spend"]>
                                        {page.rows.into_iter().map(|customer| view! { <CustomerListRow customer/> }).collect_view()}
                                    </DataTable>
                                </div>
                                <nav aria-label="Pages" class="mt-3 flex items-center gap-4 text-sm">
                                    {page.previous.map(|cursor| view! { <a class="text-indigo-700 underline" href=page_href("before", cursor)>"Previous"</a> })}
                                    {page.next.map(|cursor| view! { <a class="text-indigo-700 underline" href=page_href("after", cursor)>"Next"</a> })}
                                </nav>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CustomerListRow(customer: CustomerRow) -> impl IntoView {
    let row_key = customer.email.clone();
    view! {
        <tr data-customer=row_key>
            <td class="px-4 py-2">
                <a class="font-medium text-indigo-700 hover:underline" href=format!("/customers/{}", customer.id)>{customer.name}</a>
                <span class="block text-xs text-slate-500">{customer.email}</span>
            </td>
            <td class="px-4 py-2 text-slate-600">{customer.phone.unwrap_or_default()}</td>
            <td class="px-4 py-2 text-slate-600">{customer.city.unwrap_or_default()}</td>
            <td class="px-4 py-2">
                {customer.tags.into_iter().map(|tag| view! { <span class="mr-1 rounded-full bg-slate-100 px-2 py-0.5 text-xs">{tag}</span> }).collect_view()}
            </td>
            <td class="px-4 py-2 text-right tabular-nums">{customer.order_count}</td>
            <td class="px-4 py-2 text-right tabular-nums">{money(customer.total_spend_cents)}</td>
            <td class="px-4 py-2 text-slate-600">{customer.last_order.unwrap_or_else(|| "never".to_owned())}</td>
        </tr>
    }
}
