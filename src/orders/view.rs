//! `/orders`: upload orders from a file in parts, follow the batches, and search the order history.

use crate::shared::money::{money, thousands};
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};
use serde_json::Value;

use crate::orders::api::{list_orders, orders_per_day, recent_batches, submit_orders};
use crate::shared::ui::chunked_upload::{ChunkedUpload, UploadOutcome, UploadProgress};
use crate::shared::ui::poll::use_poll;
use crate::shared::ui::status_badge::badge_class;
use crate::{
    dashboard::model::PeriodFigures,
    orders::model::{parse_orders_json, validate_order, BatchSummary, RejectedOrder},
    shared::{
        import::{read_csv, spreadsheet_safe, ReadLimits},
        ui::{
            daily_orders::DailyOrdersCharts,
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

/// Orders per request when the browser sends a large file: each part becomes one batch.
const UPLOAD_CHUNK: usize = 500;
/// How often the batch list refreshes while a batch is queued or processing.
const POLL_MS: u32 = 1_000;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let (sent, set_sent) = signal(0_u32);
    // Bumped when the last batch in flight finishes: its orders are then in the history and the figures.
    let (stored, set_stored) = signal(0_u32);
    view! {
        <PageHeader title="Orders" subtitle="Bulk submissions, their processing status, and the order history."/>
        <div class="space-y-10">
            <OrderUpload on_sent=Callback::new(move |()| set_sent.update(|n| *n += 1))/>
            <BatchList refresh=sent on_settled=Callback::new(move |()| set_stored.update(|n| *n += 1))/>
            <DailyOrdersChart refresh=stored/>
            <OrderHistory refresh=stored/>
        </div>
    }
}

#[derive(Clone, Debug, PartialEq)]
struct ParsedFile {
    name: String,
    orders: Vec<Value>,
    /// Row number (from 1) and what is wrong with it.
    problems: Vec<(usize, String)>,
}

fn parse_file(name: &str, text: &str) -> Result<ParsedFile, String> {
    let orders = if name.to_lowercase().ends_with(".csv") {
        read_csv(text, ReadLimits::UNLIMITED)
    } else {
        parse_orders_json(text, ReadLimits::UNLIMITED)
    }?;
    if orders.is_empty() {
        return Err("The file holds no orders.".to_owned());
    }
    let problems = orders
        .iter()
        .enumerate()
        .filter_map(|(index, order)| {
            validate_order(order)
                .err()
                .map(|problem| (index + 1, problem.to_string()))
        })
        .collect();
    Ok(ParsedFile {
        name: name.to_owned(),
        orders,
        problems,
    })
}

fn cell(order: &Value, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|name| order.get(*name))
        .map(|value| match value {
            Value::String(text) => text.clone(),
            Value::Array(items) => format!("{} line items", items.len()),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

#[component]
fn OrderUpload(on_sent: Callback<()>) -> impl IntoView {
    let parsed = RwSignal::new(None::<Result<ParsedFile, String>>);
    let upload = ChunkedUpload::default();
    let pasted = RwSignal::new(String::new());

    let show = move |result: Result<ParsedFile, String>| {
        parsed.set(Some(result));
        upload.clear();
    };
    let on_file = Callback::new(move |(name, text): (String, Result<String, String>)| {
        show(text.and_then(|text| parse_file(&name, &text)))
    });
    // Parts already sent map to their batches again on the server (their content is their key), so resuming from
    // the part that failed never stores a part twice.
    let send_from = move |start: usize| {
        let Some(Ok(file)) = parsed.get_untracked() else {
            return;
        };
        let parts: Vec<Vec<Value>> = file
            .orders
            .chunks(UPLOAD_CHUNK)
            .map(<[Value]>::to_vec)
            .collect();
        let several = parts.len() > 1;
        let (name, orders) = (file.name, file.orders.len());
        let send = move |index: usize, part: Vec<Value>| {
            let first = index * UPLOAD_CHUNK + 1;
            let source = if several {
                format!("{name} (rows {first}–{})", first + part.len() - 1)
            } else {
                name.clone()
            };
            async move {
                submit_orders(part, source).await?;
                on_sent.run(());
                Ok(())
            }
        };
        upload.send(parts, start, send, move |total| {
            format!("{orders} orders sent in {total} batch(es); their progress is below.")
        });
    };

    view! {
        <section aria-labelledby="upload-heading" class="rounded-lg border border-slate-200 bg-white p-6">
            <h2 id="upload-heading" class="text-lg font-semibold">"Submit orders in bulk"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "A CSV file with a header line (customer_email or customer_id, amount, items, date, order_id) or a JSON file "
                "with {\"orders\": [...]}. Rows are checked here before anything is sent."
            </p>
            <div class="mt-4 flex flex-col gap-4 md:flex-row">
                <div class="md:w-1/2">
                    <FilePicker label="Order file (.csv or .json)" accept=".csv,.json,text/csv,application/json" on_loaded=on_file/>
                </div>
                <div class="md:w-1/2">
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Or paste JSON"</span>
                        <textarea
                            rows="3"
                            class=INPUT_CLASS
                            placeholder="{\"orders\": [{\"customer_email\": \"ada@example.com\", \"amount\": 12.5, \"items\": 1}]}"
                            bind:value=pasted
                        ></textarea>
                    </label>
                    <button type="button" class=format!("{SECONDARY_BUTTON_CLASS} mt-2") on:click=move |_| show(parse_file("pasted JSON", &pasted.get_untracked()))>
                        "Check pasted JSON"
                    </button>
                </div>
            </div>
            {move || {
                parsed.get().map(|result| match result {
                    Err(message) => view! { <p role="alert" class="mt-4 text-sm text-red-700">{message}</p> }.into_any(),
                    Ok(file) => view! { <UploadPreview file/> }.into_any(),
                })
            }}
            {move || {
                matches!(parsed.get(), Some(Ok(_))).then(|| {
                    view! {
                        <div class="mt-4 flex flex-wrap items-center gap-4">
                            <button type="button" class=PRIMARY_BUTTON_CLASS disabled=move || upload.sending() on:click=move |_| send_from(0)>
                                "Send orders"
                            </button>
                            {move || upload.stopped_at().map(|done| view! {
                                <button type="button" class=SECONDARY_BUTTON_CLASS on:click=move |_| send_from(done)>
                                    {format!("Resume from part {}", done + 1)}
                                </button>
                            })}
                            <UploadProgress upload label="Upload progress"/>
                        </div>
                    }
                })
            }}
            <UploadOutcome upload/>
        </section>
    }
}

#[component]
fn UploadPreview(file: ParsedFile) -> impl IntoView {
    let problem_count = file.problems.len();
    let sample: Vec<(usize, Value)> = file.orders.iter().take(10).cloned().enumerate().collect();
    let problems_by_row: std::collections::HashMap<usize, String> =
        file.problems.iter().cloned().collect();
    view! {
        <div class="mt-5">
            <p class="text-sm font-medium" data-upload-summary>
                {format!("{}: {} orders, {} with problems.", file.name, file.orders.len(), problem_count)}
            </p>
            {(problem_count > 0).then(|| view! {
                <p class="mt-1 text-sm text-slate-600">
                    "Rows with problems can still be sent: they are recorded on the batch as rejected, with the reason, and the other rows are stored."
                </p>
                <ul class="mt-2 max-h-40 overflow-y-auto rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-800" aria-label="Row problems">
                    {file.problems.iter().take(200).map(|(row, reason)| view! { <li>{format!("Row {row}: {reason}")}</li> }).collect_view()}
                </ul>
            })}
            <div class="mt-3 overflow-x-auto">
                <table class="min-w-full text-left text-xs">
                    <thead class="text-slate-500">
                        <tr>
                            <th class="py-1 pr-4">"Row"</th>
                            <th class="py-1 pr-4">"Customer"</th>
                            <th class="py-1 pr-4">"Amount"</th>
                            <th class="py-1 pr-4">"Items"</th>
                            <th class="py-1 pr-4">"Date"</th>
                            <th class="py-1 pr-4">"Check"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {sample.into_iter().map(|(index, order)| {
                            let problem = problems_by_row.get(&(index + 1)).cloned();
                            let check_class = if problem.is_some() { "py-1 pr-4 text-red-700" } else { "py-1 pr-4 text-emerald-700" };
                            view! {
                                <tr class="border-t border-slate-100">
                                    <td class="py-1 pr-4">{index + 1}</td>
                                    <td class="py-1 pr-4">{cell(&order, &["customer_email", "customerEmail", "email", "customer_id", "customerID", "customerId"])}</td>
                                    <td class="py-1 pr-4">{cell(&order, &["amount"])}</td>
                                    <td class="py-1 pr-4">{cell(&order, &["items"])}</td>
                                    <td class="py-1 pr-4">{cell(&order, &["date", "orderDate"])}</td>
                                    <td class=check_class>
                                        {problem.unwrap_or_else(|| "ok".to_owned())}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}

/// The rejected rows as a CSV file, for download.
fn rejected_csv(rejected: &[RejectedOrder]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(["index", "order_id", "reason"]);
    for row in rejected {
        let _ = writer.write_record([
            row.index.to_string(),
            spreadsheet_safe(row.order_id.as_deref().unwrap_or_default()),
            spreadsheet_safe(&row.reason),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[component]
fn BatchList(refresh: ReadSignal<u32>, on_settled: Callback<()>) -> impl IntoView {
    let poll = use_poll();
    let batches = Resource::new(move || (refresh.get(), poll.track()), |_| recent_batches());
    // Refreshes only while something is still queued, processing or being added to the totals.
    poll.every(POLL_MS, move || {
        batches.with_untracked(
            |loaded| matches!(loaded, Some(Ok(list)) if list.iter().any(|batch| !batch.settled())),
        )
    });
    // The effect's state is the set of settled batches, so that a batch that settled since the last look is
    // noticed even if it was never seen in flight.
    Effect::new(move |finished_before: Option<Option<Vec<String>>>| {
        let finished_before = finished_before.flatten();
        let Some(Ok(list)) = batches.get() else {
            return finished_before;
        };
        let finished: Vec<String> = list
            .iter()
            .filter(|batch| batch.settled())
            .map(|batch| batch.batch_id.clone())
            .collect();
        if finished_before
            .as_ref()
            .is_some_and(|before| *before != finished)
        {
            on_settled.run(());
        }
        Some(finished)
    });

    view! {
        <section aria-labelledby="batches-heading">
            <h2 id="batches-heading" class="mb-3 text-lg font-semibold">"Bulk submissions"</h2>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading submissions…"</p> }>
                {move || Suspend::new(async move {
                    match batches.await {
                        Ok(list) if list.is_empty() => view! {
                            <EmptyState title="No submissions yet" message="Batches you upload here or send to POST /api/orders appear with their progress."/>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white">
                                {list.into_iter().map(|batch| view! { <BatchRow batch/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn BatchRow(batch: BatchSummary) -> impl IntoView {
    let (open, set_open) = signal(false);
    let rejected = batch.rejected.clone();
    let rejected_count = rejected.len();
    let download = format!(
        "data:text/csv;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(
            &rejected_csv(&rejected),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let processed = batch.stored + batch.duplicates + rejected_count as u64;
    view! {
        <li class="px-4 py-3 text-sm" data-batch=batch.batch_id.clone() data-status=batch.status.label()>
            <div class="flex flex-wrap items-center gap-x-4 gap-y-1">
                <span class=badge_class(batch.status.tone()) data-batch-status>
                    {batch.status.label()}
                </span>
                <span class="font-medium">{batch.source.clone()}</span>
                <span class="text-slate-500">{batch.received_at.replacen('T', " ", 1)}</span>
                <span class="tabular-nums" data-batch-counts>
                    {format!("{} stored · {} duplicates · {} rejected · {} total", thousands(batch.stored), thousands(batch.duplicates), thousands(rejected_count as u64), thousands(batch.total))}
                </span>
                {batch.processing_ms.map(|ms| view! { <span class="text-slate-500">{format!("{ms} ms")}</span> })}
                {(!batch.settled() && !batch.status.in_flight()).then(|| view! {
                    <span class="text-slate-500" data-totals-pending>"updating customer totals…"</span>
                })}
                {(rejected_count > 0).then(|| view! {
                    <button type="button" class="text-indigo-700 underline" on:click=move |_| set_open.update(|o| *o = !*o)>
                        {move || if open.get() { "Hide rejected rows" } else { "Show rejected rows" }}
                    </button>
                    <a class="text-indigo-700 underline" href=download.clone() download=format!("rejected-{}.csv", batch.batch_id)>
                        "Download rejected rows (CSV)"
                    </a>
                })}
            </div>
            {batch.status.in_flight().then(|| view! {
                <progress class="mt-2 h-1.5 w-full" max=batch.total value=processed aria-label="Processing progress"></progress>
            })}
            {batch.error.clone().map(|error| view! { <p class="mt-1 text-red-700">{error}</p> })}
            {move || open.get().then(|| view! {
                <table class="mt-2 min-w-full text-left text-xs" aria-label="Rejected rows">
                    <thead class="text-slate-500">
                        <tr><th class="pr-4">"Index"</th><th class="pr-4">"Order id"</th><th>"Reason"</th></tr>
                    </thead>
                    <tbody>
                        {rejected.iter().map(|row| view! {
                            <tr class="border-t border-slate-100">
                                <td class="pr-4">{row.index}</td>
                                <td class="pr-4">{row.order_id.clone().unwrap_or_default()}</td>
                                <td class="text-red-700">{row.reason.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </li>
    }
}

#[component]
fn DailyOrdersChart(refresh: ReadSignal<u32>) -> impl IntoView {
    let days = Resource::new(move || refresh.get(), |_| orders_per_day(30));
    view! {
        <section aria-labelledby="daily-heading">
            <h2 id="daily-heading" class="mb-3 text-lg font-semibold">"Last 30 days"</h2>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading figures…"</p> }>
                {move || Suspend::new(async move {
                    match days.await {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(days) => {
                            let period = PeriodFigures::ending_today(&days, 30);
                            let (orders, revenue) = (period.orders, period.revenue_cents);
                            let average = period.average_order_cents().map(money).unwrap_or_else(|| "–".to_owned());
                            view! {
                                <dl class="mb-4 grid grid-cols-3 gap-4 text-sm">
                                    <div><dt class="text-slate-600">"Orders"</dt><dd class="text-xl font-semibold tabular-nums" data-figure="orders-30d">{orders}</dd></div>
                                    <div><dt class="text-slate-600">"Revenue"</dt><dd class="text-xl font-semibold tabular-nums" data-figure="revenue-30d">{money(revenue)}</dd></div>
                                    <div><dt class="text-slate-600">"Average order value"</dt><dd class="text-xl font-semibold tabular-nums" data-figure="aov-30d">{average}</dd></div>
                                </dl>
                                <DailyOrdersCharts days/>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn OrderHistory(refresh: ReadSignal<u32>) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|value| !value.is_empty());
    let orders = Resource::new(
        move || {
            let filters = (
                param("customer"),
                param("from"),
                param("to"),
                param("min"),
                param("max"),
                param("sort"),
            );
            // The key must change for the resource to fetch again: tracking `refresh` alone is not enough.
            (refresh.get(), filters, (param("after"), param("before")))
        },
        |(_, (customer, from, to, min, max, sort), (after, before))| {
            list_orders(customer, from, to, min, max, sort, after, before)
        },
    );
    // The filters stay; the position is replaced.
    let page_href = move |key: &'static str, cursor: String| {
        query_href("/orders", &query.get(), &["after", "before"], (key, cursor))
    };
    let value = move |name: &'static str| move || param(name).unwrap_or_default();

    view! {
        <section aria-labelledby="history-heading">
            <h2 id="history-heading" class="mb-3 text-lg font-semibold">"Order history"</h2>
            <Form action="/orders">
                <div class="mb-4 grid grid-cols-2 gap-3 text-sm md:grid-cols-7">
                    <label class="col-span-2 block">"Customer email starts with"<input name="customer" class=INPUT_CLASS prop:value=value("customer")/></label>
                    <label class="block">"From"<input type="date" name="from" class=INPUT_CLASS prop:value=value("from")/></label>
                    <label class="block">"To"<input type="date" name="to" class=INPUT_CLASS prop:value=value("to")/></label>
                    <label class="block">"Min amount"<input name="min" inputmode="decimal" class=INPUT_CLASS prop:value=value("min")/></label>
                    <label class="block">"Max amount"<input name="max" inputmode="decimal" class=INPUT_CLASS prop:value=value("max")/></label>
                    <label class="block">"Sort"
                        <select name="sort" class=INPUT_CLASS prop:value=value("sort")>
                            <option value="newest">"Newest first"</option>
                            <option value="oldest">"Oldest first"</option>
                            <option value="amount_desc">"Largest amount"</option>
                            <option value="amount_asc">"Smallest amount"</option>
                        </select>
                    </label>
                </div>
                <button type="submit" class=SECONDARY_BUTTON_CLASS>"Apply filters"</button>
            </Form>
            <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading orders…"</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Err(error) => view! { <div class="mt-4"><ErrorNotice error/></div> }.into_any(),
                        Ok(page) if page.rows.is_empty() => view! {
                            <div class="mt-4"><EmptyState title="No orders match" message="Orders appear here once a bulk submission has been processed; change the filters to see more."/></div>
                        }.into_any(),
                        Ok(page) => view! {
                            <p class="mt-4 text-sm text-slate-600" data-order-total>{page.describe_total()}</p>
                            <div class="mt-2">
                            <DataTable label="Orders" headers=&["Date", "Order", "Customer", "Items", "Amount"] numeric=&["Items", "Amount"]>
                                        {page.rows.into_iter().map(|row| {
                                            let row_id = row.order_id.clone();
                                            view! {
                                            <tr data-order=row_id>
                                                <td class="px-4 py-2 text-slate-600">{row.ordered_at}</td>
                                                <td class="px-4 py-2 font-mono text-xs">{row.order_id}</td>
                                                <td class="px-4 py-2">{row.customer_name}<span class="block text-xs text-slate-500">{row.customer_email}</span></td>
                                                <td class="px-4 py-2 text-right tabular-nums">{row.item_count}</td>
                                                <td class="px-4 py-2 text-right tabular-nums">{money(row.amount_cents)}</td>
                                            </tr>
                                        }}).collect_view()}
                            </DataTable>
                            </div>
                            <nav aria-label="Pages" class="mt-3 flex items-center gap-4 text-sm">
                                {page.previous.map(|cursor| view! { <a class="text-indigo-700 underline" href=page_href("before", cursor)>"Previous"</a> })}
                                {page.next.map(|cursor| view! { <a class="text-indigo-700 underline" href=page_href("after", cursor)>"Next"</a> })}
                            </nav>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejected_rows_download_runs_no_formula() {
        let csv = rejected_csv(&[RejectedOrder {
            index: 3,
            order_id: Some("=cmd|'/c calc'!A1".to_owned()),
            reason: "amount: required".to_owned(),
        }]);
        assert_eq!(
            csv,
            "index,order_id,reason\n3,'=cmd|'/c calc'!A1,amount: required\n"
        );
    }
}
