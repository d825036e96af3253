//! `/customers/:id`: one customer, their recent orders, tags and consent.

use crate::shared::money::{money, thousands};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    campaigns::model::Channel,
    customers::{
        api::{fetch_customer, recent_customer_orders, SetCustomerConsent, SetCustomerTags},
        model::{Consent, ConsentRecord, CustomerDetail},
    },
    shared::ui::{
        data_table::DataTable,
        error_notice::ErrorNotice,
        form::{FieldMessage, INPUT_CLASS, SECONDARY_BUTTON_CLASS},
        page_header::PageHeader,
        status_badge::{badge_class, Tone},
    },
};

/// `/customers/:id`: the customer's details and totals, their tags, the segments they are in, and their orders.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let customer = Resource::new(id, fetch_customer);
    let orders = Resource::new(id, recent_customer_orders);
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading the customer…"</p> }>
            {move || Suspend::new(async move {
                match customer.await {
                    Err(error) => view! { <PageHeader title="Customer"/><ErrorNotice error/> }.into_any(),
                    Ok(detail) => view! { <CustomerOverview detail/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="mt-8" aria-labelledby="orders-heading">
            <h2 id="orders-heading" class="mb-3 text-lg font-semibold">"Latest orders"</h2>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading orders…"</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(page) if page.rows.is_empty() => view! { <p class="text-sm text-slate-600">"No orders stored for this customer."</p> }.into_any(),
                        Ok(page) => view! {
                            <p class="mb-2 text-sm text-slate-600">{format!("{} orders stored; the latest {} are shown.", thousands(page.total), page.rows.len())}</p>
                            <DataTable label="Orders of this customer" headers=&["Date", "Order", "Items", "Amount"] numeric=&["Items", "Amount"]>
                                {page.rows.into_iter().map(|row| view! {
                                    <tr>
                                        <td class="px-4 py-2 text-slate-600">{row.ordered_at}</td>
                                        <td class="px-4 py-2 font-mono text-xs">{row.order_id}</td>
                                        <td class="px-4 py-2 text-right tabular-nums">{row.item_count}</td>
                                        <td class="px-4 py-2 text-right tabular-nums">{money(row.amount_cents)}</td>
                                    </tr>
                                }).collect_view()}
                            </DataTable>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn CustomerOverview(detail: CustomerDetail) -> impl IntoView {
    let customer = detail.customer;
    let figure = |label: &'static str, value: String| {
        view! {
            <div class="rounded-lg border border-slate-200 bg-white p-4">
                <dt class="text-sm text-slate-600">{label}</dt>
                <dd class="mt-1 text-xl font-semibold tabular-nums" data-figure=label>{value}</dd>
            </div>
        }
    };
    view! {
        <PageHeader title=customer.name.clone()/>
        <dl class="grid grid-cols-2 gap-4 md:grid-cols-5">
            {figure("Total spend", money(customer.total_spend_cents))}
            {figure("Orders", thousands(customer.order_count.max(0) as u64))}
            {figure("Average order", detail.average_order_cents.map(money).unwrap_or_else(|| "–".to_owned()))}
            {figure("First order", detail.first_order.unwrap_or_else(|| "–".to_owned()))}
            {figure("Last order", customer.last_order.clone().unwrap_or_else(|| "never".to_owned()))}
        </dl>
        <div class="mt-6 grid gap-6 md:grid-cols-2">
            <section class="rounded-lg border border-slate-200 bg-white p-5 text-sm" aria-labelledby="profile-heading">
                <h2 id="profile-heading" class="mb-2 font-semibold">"Profile"</h2>
                <dl class="grid grid-cols-[8rem_1fr] gap-y-1">
                    <dt class="text-slate-600">"Email"</dt><dd>{customer.email.clone()}</dd>
                    <dt class="text-slate-600">"Phone"</dt><dd>{customer.phone.clone().unwrap_or_else(|| "–".to_owned())}</dd>
                    <dt class="text-slate-600">"City"</dt><dd>{customer.city.clone().unwrap_or_else(|| "–".to_owned())}</dd>
                    <dt class="text-slate-600">"Customer since"</dt><dd>{detail.created_at}</dd>
                </dl>
                <TagEditor id=customer.id.clone() tags=customer.tags.clone()/>
            </section>
            <section class="rounded-lg border border-slate-200 bg-white p-5 text-sm" aria-labelledby="consent-heading">
                <h2 id="consent-heading" class="mb-2 font-semibold">"Consent to marketing"</h2>
                <p class="mb-3 text-slate-600">"Campaigns skip a channel the customer has not consented to."</p>
                {detail.consent.into_iter().map(|record| view! { <ConsentEditor id=customer.id.clone() record/> }).collect_view()}
            </section>
            <section class="rounded-lg border border-slate-200 bg-white p-5 text-sm" aria-labelledby="segments-heading">
                <h2 id="segments-heading" class="mb-2 font-semibold">"Segments"</h2>
                {if detail.segments.is_empty() {
                    view! { <p class="text-slate-600">"This customer is in no segment."</p> }.into_any()
                } else {
                    view! {
                        <ul class="list-disc pl-5" data-customer-segments>
                            {detail.segments.into_iter().map(|(id, name)| view! {
                                <li><a class="text-indigo-700 underline" href=format!("/segments/{id}")>{name}</a></li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

/// One channel's consent: its state with when and how it changed, and a form to record a new one (which works
/// before the page is hydrated).
#[component]
fn ConsentEditor(id: String, record: ConsentRecord) -> impl IntoView {
    let change = ServerAction::<SetCustomerConsent>::new();
    let result = change.value();
    let channel = record.channel;
    let label = match channel {
        Channel::Email => "Email",
        Channel::Sms => "SMS",
    };
    let initial = record.state;
    let state = move || match result.get() {
        Some(Ok(state)) => state,
        _ => initial,
    };
    let changed = move || match result.get() {
        Some(Ok(_)) => Some("just now".to_owned()),
        _ => record.at.clone().map(|at| {
            format!(
                "{at}{}",
                record
                    .via
                    .clone()
                    .map(|via| format!(", {via}"))
                    .unwrap_or_default()
            )
        }),
    };
    view! {
        <ActionForm action=change attr:class="mb-3 flex flex-wrap items-center gap-2" attr:data-consent=channel.key()>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="channel" value=channel.key()/>
            <span class="w-14 text-slate-600">{label}</span>
            <span class=move || badge_class(if state().allows_sending() { Tone::Success } else { Tone::Warning }) data-consent-state>{move || state().key()}</span>
            <label>
                <span class="sr-only">{format!("{label} consent")}</span>
                <select name="state" class=INPUT_CLASS aria-label=format!("{label} consent")>
                    {Consent::ALL.into_iter().map(|option| view! {
                        <option value=option.key() selected=option == initial>{option.key()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class=SECONDARY_BUTTON_CLASS>"Save"</button>
            <span class="basis-full text-xs text-slate-500">{changed}</span>
            {move || match result.get() { Some(Err(error)) => Some(view! { <ErrorNotice error/> }), _ => None }}
        </ActionForm>
    }
}

/// The customer's tags and a form to replace them (which works before the page is hydrated); saved tags come back
/// cleaned (lower case, without repeats) and fill the field again.
#[component]
fn TagEditor(id: String, tags: Vec<String>) -> impl IntoView {
    let save = ServerAction::<SetCustomerTags>::new();
    let result = save.value();
    let initial = tags.join(", ");
    let text = RwSignal::new(initial.clone());
    let saved = move || match result.get() {
        Some(Ok(tags)) => tags,
        _ => tags.clone(),
    };
    Effect::new(move || {
        if let Some(Ok(tags)) = result.get() {
            text.set(tags.join(", "));
        }
    });
    let message = Signal::derive(move || {
        result.with(|result| match result {
            Some(Err(error)) => Some(error.for_field("tags").unwrap_or_else(|| error.to_string())),
            _ => None,
        })
    });
    view! {
        <ActionForm action=save attr:class="mt-4">
            <input type="hidden" name="id" value=id/>
            <p class="mb-1 text-slate-600">"Tags"</p>
            <p class="mb-2" data-customer-tags>
                {move || {
                    let tags = saved();
                    if tags.is_empty() {
                        view! { <span class="text-slate-500">"none"</span> }.into_any()
                    } else {
                        tags.into_iter().map(|tag| view! { <span class="mr-1 rounded-full bg-indigo-50 px-2 py-0.5 text-xs text-indigo-800">{tag}</span> }).collect_view().into_any()
                    }
                }}
            </p>
            <label class="block">
                <span class="sr-only">"Tags, separated by commas"</span>
                <input
                    name="tags"
                    class=INPUT_CLASS
                    placeholder="e.g. vip, newsletter"
                    aria-describedby="tags-error"
                    value=initial
                    prop:value=move || text.get()
                    on:input=move |event| text.set(event_target_value(&event))
                />
            </label>
            <FieldMessage id="tags-error".to_owned() message/>
            <button type="submit" class=format!("{SECONDARY_BUTTON_CLASS} mt-2")>"Save tags"</button>
        </ActionForm>
    }
}
