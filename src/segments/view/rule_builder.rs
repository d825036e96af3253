//! The segment rule builder: nested groups of conditions, each input typed by its field, each condition checked as
//! it is typed, and the audience size recounted (debounced) while the rule changes.
//!
//! The rule lives in a tree of signals, one per input, so that typing in one condition re-renders nothing else and
//! keeps the focus where it is; [`GroupNode::snapshot`] reads the tree back into a plain [`RuleGroup`].

use crate::shared::money::{money, thousands};
use std::sync::atomic::{AtomicU32, Ordering};

use leptos::{prelude::*, task::spawn_local};

use crate::{
    campaigns::api::list_campaigns,
    customers::model::{AudienceEstimate, Consent, CustomerRow},
    segments::{
        api::{count_audience, estimate_audience, sample_audience},
        rules::{
            check_condition, check_rule, Combinator, Condition, Field, FieldKind, Operator, Rule,
            RuleGroup, Window, WindowKind, MAX_DEPTH,
        },
    },
    shared::{error::AppError, ui::form::SECONDARY_BUTTON_CLASS},
};

/// How long the rule must stay unchanged before it is counted.
const COUNT_DELAY_MS: u32 = 350;

static NEXT_KEY: AtomicU32 = AtomicU32::new(1);

fn next_key() -> u32 {
    NEXT_KEY.fetch_add(1, Ordering::Relaxed)
}

#[derive(Clone, Copy)]
pub struct ConditionNode {
    field: RwSignal<Field>,
    operator: RwSignal<Operator>,
    value: RwSignal<String>,
    value_to: RwSignal<String>,
    window: WindowNode,
    min_quantity: RwSignal<String>,
}

/// An order condition's window, one signal per input.
#[derive(Clone, Copy)]
struct WindowNode {
    kind: RwSignal<WindowKind>,
    days: RwSignal<String>,
    from: RwSignal<String>,
    to: RwSignal<String>,
}

impl WindowNode {
    fn new(window: &Window) -> Self {
        Self {
            kind: RwSignal::new(window.kind),
            days: RwSignal::new(window.days.clone()),
            from: RwSignal::new(window.from.clone()),
            to: RwSignal::new(window.to.clone()),
        }
    }

    fn snapshot(&self) -> Window {
        Window {
            kind: self.kind.get(),
            days: self.days.get(),
            from: self.from.get(),
            to: self.to.get(),
        }
    }

    fn reset(&self) {
        self.kind.set(WindowKind::Ever);
        for text in [self.days, self.from, self.to] {
            text.set(String::new());
        }
    }
}

#[derive(Clone, Copy)]
pub struct GroupNode {
    combinator: RwSignal<Combinator>,
    negated: RwSignal<bool>,
    children: RwSignal<Vec<(u32, Node)>>,
}

#[derive(Clone, Copy)]
enum Node {
    Condition(ConditionNode),
    Group(GroupNode),
}

impl ConditionNode {
    fn from_condition(condition: &Condition) -> Self {
        Self {
            field: RwSignal::new(condition.field),
            operator: RwSignal::new(condition.operator),
            value: RwSignal::new(condition.value.clone()),
            value_to: RwSignal::new(condition.value_to.clone()),
            window: WindowNode::new(&condition.window),
            min_quantity: RwSignal::new(condition.min_quantity.clone()),
        }
    }

    fn snapshot(&self) -> Condition {
        Condition {
            field: self.field.get(),
            operator: self.operator.get(),
            value: self.value.get(),
            value_to: self.value_to.get(),
            window: self.window.snapshot(),
            min_quantity: self.min_quantity.get(),
        }
    }
}

impl GroupNode {
    pub fn from_rule(rule: &RuleGroup) -> Self {
        let children = rule
            .rules
            .iter()
            .map(|rule| {
                let node = match rule {
                    Rule::Condition(condition) => {
                        Node::Condition(ConditionNode::from_condition(condition))
                    }
                    Rule::Group(group) => Node::Group(GroupNode::from_rule(group)),
                };
                (next_key(), node)
            })
            .collect();
        Self {
            combinator: RwSignal::new(rule.combinator),
            negated: RwSignal::new(rule.negated),
            children: RwSignal::new(children),
        }
    }

    /// The rule as it stands; reading it tracks every input, so a memo over it follows every edit.
    pub fn snapshot(&self) -> RuleGroup {
        RuleGroup {
            combinator: self.combinator.get(),
            negated: self.negated.get(),
            rules: self
                .children
                .get()
                .iter()
                .map(|(_, node)| match node {
                    Node::Condition(condition) => Rule::Condition(condition.snapshot()),
                    Node::Group(group) => Rule::Group(group.snapshot()),
                })
                .collect(),
        }
    }

    fn add_condition(&self, field: Field) {
        let node = Node::Condition(ConditionNode::from_condition(&Condition::new(field)));
        self.children
            .update(|children| children.push((next_key(), node)));
    }

    fn add_group(&self) {
        let mut group = RuleGroup::new(Combinator::Any);
        group
            .rules
            .push(Rule::Condition(Condition::new(Field::OrderCount)));
        let node = Node::Group(GroupNode::from_rule(&group));
        self.children
            .update(|children| children.push((next_key(), node)));
    }

    fn remove(&self, key: u32) {
        self.children
            .update(|children| children.retain(|(k, _)| *k != key));
    }
}

/// What a condition's value input looks like; when it changes, the typed value no longer fits and is cleared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueShape {
    Nothing,
    Money,
    Count,
    Date,
    Days,
    Text,
    List,
    /// One of a fixed set of values (a consent state), chosen from a list.
    Choice,
    /// A campaign's name, typed or picked from the campaigns there are.
    Campaign,
}

fn value_shape(field: Field, operator: Operator) -> ValueShape {
    match (field.kind(), operator) {
        (_, Operator::Never) => ValueShape::Nothing,
        (FieldKind::Money | FieldKind::SpendIn, _) => ValueShape::Money,
        (FieldKind::Count | FieldKind::OrdersIn, _) => ValueShape::Count,
        (FieldKind::Sku, Operator::InList) => ValueShape::List,
        (FieldKind::Sku | FieldKind::ProductName, _) => ValueShape::Text,
        (FieldKind::Date, Operator::WithinDays | Operator::MoreThanDaysAgo)
        | (FieldKind::Engaged, _) => ValueShape::Days,
        (FieldKind::Campaign, _) => ValueShape::Campaign,
        (FieldKind::Date, _) => ValueShape::Date,
        (FieldKind::Text, Operator::InList) | (FieldKind::Tags, _) => ValueShape::List,
        (FieldKind::Text, _) => ValueShape::Text,
        (FieldKind::Consent, _) => ValueShape::Choice,
    }
}

/// The id of the list of campaign names that campaign conditions suggest.
const CAMPAIGN_NAMES: &str = "campaign-names";

/// The rule builder for the group `root`.
#[component]
pub fn RuleBuilder(root: GroupNode) -> impl IntoView {
    // Campaign conditions name a campaign: the names there are are suggested as they are typed.
    let campaigns = Resource::new(
        || (),
        |()| async {
            let mut names: Vec<String> = list_campaigns()
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|campaign| campaign.name)
                .collect();
            names.sort();
            names.dedup();
            names
        },
    );
    view! {
        <div data-rule-builder>
            {group_view(root, 0, None)}
            <Transition fallback=|| ()>
                <datalist id=CAMPAIGN_NAMES>
                    {move || Suspend::new(async move {
                        campaigns.await.into_iter().map(|name| view! { <option value=name></option> }).collect_view()
                    })}
                </datalist>
            </Transition>
        </div>
    }
}

fn group_view(group: GroupNode, depth: usize, remove: Option<Callback<()>>) -> AnyView {
    let frame = if depth == 0 {
        "rounded-lg border border-slate-200 bg-white p-4"
    } else {
        "rounded-md border border-indigo-200 bg-indigo-50/40 p-3"
    };
    view! {
        <fieldset class=frame data-group data-depth=depth>
            <legend class="sr-only">{if depth == 0 { "Rule" } else { "Group of conditions" }}</legend>
            <div class="flex flex-wrap items-center gap-3 text-sm">
                <label class="flex items-center gap-2">
                    <span class="font-medium text-slate-700">"Customers matching"</span>
                    <select
                        aria-label="Combine"
                        class="rounded-md border border-slate-300 bg-white px-2 py-1"
                        prop:value=move || if group.combinator.get() == Combinator::All { "all" } else { "any" }
                        on:change=move |event| {
                            let all = event_target_value(&event) == "all";
                            group.combinator.set(if all { Combinator::All } else { Combinator::Any });
                        }
                    >
                        <option value="all">"all of (AND)"</option>
                        <option value="any">"any of (OR)"</option>
                    </select>
                </label>
                <label class="flex items-center gap-1">
                    <input type="checkbox" aria-label="Not" prop:checked=move || group.negated.get() on:change=move |event| group.negated.set(event_target_checked(&event))/>
                    <span>"not (exclude these)"</span>
                </label>
                {remove.map(|remove| view! {
                    <button type="button" class="ml-auto text-sm text-red-700 underline" on:click=move |_| remove.run(())>
                        "Remove group"
                    </button>
                })}
            </div>
            <ul class="mt-3 space-y-3">
                <For
                    each=move || group.children.get()
                    key=|(key, _)| *key
                    children=move |(key, node)| {
                        let remove = Callback::new(move |()| group.remove(key));
                        let item = match node {
                            Node::Condition(condition) => condition_view(condition, remove),
                            Node::Group(inner) => group_view(inner, depth + 1, Some(remove)),
                        };
                        view! { <li>{item}</li> }
                    }
                />
            </ul>
            {move || group.children.with(Vec::is_empty).then(|| view! {
                <p class="mt-2 text-sm text-slate-500">"No conditions yet: this group matches every customer."</p>
            })}
            <div class="mt-3 flex flex-wrap gap-2">
                <button type="button" class=SECONDARY_BUTTON_CLASS on:click=move |_| group.add_condition(Field::TotalSpend)>
                    "Add condition"
                </button>
                {(depth < MAX_DEPTH).then(|| view! {
                    <button type="button" class=SECONDARY_BUTTON_CLASS on:click=move |_| group.add_group()>
                        "Add group"
                    </button>
                })}
            </div>
        </fieldset>
    }
    .into_any()
}

fn condition_view(condition: ConditionNode, remove: Callback<()>) -> AnyView {
    let ConditionNode {
        field,
        operator,
        value,
        value_to,
        window,
        min_quantity,
    } = condition;
    let problem = Memo::new(move |_| check_condition(&condition.snapshot()).err());
    let shape = Memo::new(move |_| value_shape(field.get(), operator.get()));
    // Clear a value that the new input shape cannot show (e.g. "90" days when switching to a date).
    Effect::new(move |previous: Option<ValueShape>| {
        let current = shape.get();
        if previous.is_some_and(|previous| previous != current) {
            // A list starts at its first choice, which it shows as chosen.
            value.set(if current == ValueShape::Choice {
                Consent::Subscribed.key().to_owned()
            } else {
                String::new()
            });
            value_to.set(String::new());
        }
        current
    });
    let select_class = "rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm";
    let value_input = move |target: RwSignal<String>, label: &'static str| {
        let (kind, mode, placeholder) = match shape.get() {
            ValueShape::Money => ("text", "decimal", "e.g. 100 or 49.90"),
            ValueShape::Count => ("number", "numeric", "e.g. 3"),
            ValueShape::Days => ("number", "numeric", "days"),
            ValueShape::Date => ("date", "text", "2026-11-27"),
            ValueShape::List => ("text", "text", "comma-separated, e.g. vip, new"),
            ValueShape::Campaign => ("text", "text", "campaign name"),
            ValueShape::Text | ValueShape::Nothing | ValueShape::Choice => ("text", "text", ""),
        };
        view! {
            <input
                type=kind
                inputmode=mode
                min=(kind == "number").then_some("0")
                placeholder=placeholder
                aria-label=label
                list=(shape.get() == ValueShape::Campaign).then_some(CAMPAIGN_NAMES)
                aria-invalid=move || problem.get().is_some().to_string()
                class="w-40 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm aria-[invalid=true]:border-red-500"
                prop:value=move || target.get()
                on:input=move |event| target.set(event_target_value(&event))
            />
        }
    };
    view! {
        <div class="rounded-md border border-slate-200 bg-slate-50 p-3" data-condition>
            <div class="flex flex-wrap items-center gap-2">
                <select
                    aria-label="Field"
                    class=select_class
                    prop:value=move || field.get().key()
                    on:change=move |event| {
                        let Some(chosen) = Field::from_key(&event_target_value(&event)) else { return };
                        if !chosen.operators().contains(&operator.get_untracked()) {
                            operator.set(chosen.default_operator());
                        }
                        // Only order conditions have a window, and only product conditions a quantity.
                        if !chosen.kind().windowed() {
                            window.reset();
                        }
                        if !matches!(chosen.kind(), FieldKind::Sku | FieldKind::ProductName) {
                            min_quantity.set(String::new());
                        }
                        field.set(chosen);
                    }
                >
                    {Field::ALL.into_iter().map(|f| view! { <option value=f.key()>{f.label()}</option> }).collect_view()}
                </select>
                <select
                    aria-label="Operator"
                    class=select_class
                    prop:value=move || operator.get().key()
                    on:change=move |event| {
                        if let Some(chosen) = Operator::from_key(&event_target_value(&event)) {
                            operator.set(chosen);
                        }
                    }
                >
                    {move || {
                        let current = operator.get();
                        field
                            .get()
                            .operators()
                            .iter()
                            .map(|o| view! { <option value=o.key() selected=*o == current>{field.get().operator_label(*o)}</option> })
                            .collect_view()
                    }}
                </select>
                {move || match shape.get() {
                    ValueShape::Nothing => ().into_any(),
                    _ if operator.get() == Operator::Between => view! {
                        {value_input(value, "Value")}
                        <span class="text-sm text-slate-600">"and"</span>
                        {value_input(value_to, "Value to")}
                    }.into_any(),
                    ValueShape::Days => view! { {value_input(value, "Value")} <span class="text-sm text-slate-600">"days"</span> }.into_any(),
                    ValueShape::Choice => view! {
                        <select aria-label="Value" class=select_class prop:value=move || value.get() on:change=move |event| value.set(event_target_value(&event))>
                            {Consent::ALL.into_iter().map(|c| view! { <option value=c.key()>{c.key()}</option> }).collect_view()}
                        </select>
                    }.into_any(),
                    _ => value_input(value, "Value").into_any(),
                }}
                {move || matches!(field.get().kind(), FieldKind::Sku | FieldKind::ProductName).then(|| view! {
                    <label class="flex items-center gap-1 text-sm text-slate-600">
                        "quantity at least"
                        <input
                            type="number"
                            inputmode="numeric"
                            min="1"
                            placeholder="any"
                            aria-label="Least quantity"
                            class="w-20 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
                            prop:value=move || min_quantity.get()
                            on:input=move |event| min_quantity.set(event_target_value(&event))
                        />
                    </label>
                })}
                {move || field.get().kind().windowed().then(|| window_view(window, problem))}
                <button type="button" class="ml-auto text-sm text-red-700 underline" on:click=move |_| remove.run(())>
                    "Remove condition"
                </button>
            </div>
            <p class="mt-1 text-sm text-red-700" aria-live="polite" data-condition-problem>{move || problem.get()}</p>
        </div>
    }
    .into_any()
}

/// When an order condition looks: ever, the last N days, or between two dates.
fn window_view(window: WindowNode, problem: Memo<Option<String>>) -> AnyView {
    let input_class = "rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm aria-[invalid=true]:border-red-500";
    let text_input = move |target: RwSignal<String>, kind: &'static str, label: &'static str| {
        view! {
            <input
                type=kind
                min=(kind == "number").then_some("1")
                aria-label=label
                aria-invalid=move || problem.get().is_some().to_string()
                class=input_class
                class:w-20=kind == "number"
                prop:value=move || target.get()
                on:input=move |event| target.set(event_target_value(&event))
            />
        }
    };
    view! {
        <select
            aria-label="Window"
            class="rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
            prop:value=move || window.kind.get().key()
            on:change=move |event| {
                if let Some(kind) = WindowKind::from_key(&event_target_value(&event)) {
                    window.kind.set(kind);
                }
            }
        >
            {WindowKind::ALL.into_iter().map(|kind| view! { <option value=kind.key()>{kind.label()}</option> }).collect_view()}
        </select>
        {move || match window.kind.get() {
            WindowKind::Ever => ().into_any(),
            WindowKind::LastDays => view! {
                {text_input(window.days, "number", "Window days")}
                <span class="text-sm text-slate-600">"days"</span>
            }.into_any(),
            WindowKind::Between => view! {
                {text_input(window.from, "date", "Window from")}
                <span class="text-sm text-slate-600">"and"</span>
                {text_input(window.to, "date", "Window to")}
            }.into_any(),
        }}
    }
    .into_any()
}

/// The audience of `rule` while it is edited: estimated from a sample after a pause in typing, then counted
/// exactly, with answers to older versions of the rule dropped, a spinner until the exact count, and a few matching
/// customers.
#[component]
pub fn LiveAudience(rule: Memo<RuleGroup>) -> impl IntoView {
    let latest = StoredValue::new(0_u64);
    let counting = RwSignal::new(true);
    let estimate = RwSignal::new(None::<AudienceEstimate>);
    let count = RwSignal::new(None::<Result<u64, AppError>>);
    let sample = RwSignal::new(Vec::<CustomerRow>::new());
    let rule_problem = RwSignal::new(false);
    Effect::new(move |_| {
        let current = rule.get();
        let version = latest.get_value() + 1;
        latest.set_value(version);
        if check_rule(&current).is_err() {
            rule_problem.set(true);
            counting.set(false);
            return;
        }
        rule_problem.set(false);
        counting.set(true);
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(COUNT_DELAY_MS).await;
            // Each answer is dropped if a newer version of the rule is being counted meanwhile.
            let stale = move || latest.get_value() != version;
            if stale() {
                return;
            }
            // An estimate first, from the sample; then the exact count, unless the sample was everyone.
            let counted = match estimate_audience(current.clone()).await {
                _ if stale() => return,
                Ok(estimated) if estimated.exact => Ok(estimated.count),
                Ok(estimated) => {
                    estimate.set(Some(estimated));
                    count.set(None);
                    let counted = count_audience(current.clone()).await;
                    if stale() {
                        return;
                    }
                    counted
                }
                Err(error) => Err(error),
            };
            let matched = counted.as_ref().is_ok_and(|n| *n > 0);
            estimate.set(None);
            count.set(Some(counted));
            counting.set(false);
            let found = if matched {
                sample_audience(current).await.unwrap_or_default()
            } else {
                Vec::new()
            };
            if !stale() {
                sample.set(found);
            }
        });
    });

    view! {
        <aside class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="audience-heading" data-counting=move || counting.get().to_string()>
            <h2 id="audience-heading" class="text-sm font-medium text-slate-600">"Audience size"</h2>
            <p class="mt-1 flex items-center gap-2 text-3xl font-semibold tabular-nums" aria-live="polite">
                <span
                    data-audience-count=move || count.with(|c| c.as_ref().and_then(|c| c.as_ref().ok()).map(u64::to_string))
                    data-audience-estimate=move || estimate.get().map(|e| e.count.to_string())
                >
                    {move || match (count.get(), estimate.get()) {
                        (Some(Ok(matching)), _) => thousands(matching),
                        (_, Some(estimated)) => format!("about {}", thousands(estimated.count)),
                        _ => "–".to_owned(),
                    }}
                </span>
                {move || counting.get().then(|| view! {
                    <span class="inline-block h-5 w-5 animate-spin rounded-full border-2 border-indigo-200 border-t-indigo-600" role="status" aria-label="Counting"></span>
                })}
            </p>
            {move || estimate.get().map(|estimated| view! {
                <p class="mt-1 text-sm text-slate-600" data-audience-margin=estimated.margin.to_string()>
                    {format!("Estimated from a sample, ± {}. Counting exactly…", thousands(estimated.margin))}
                </p>
            })}
            {move || rule_problem.get().then(|| view! {
                <p class="mt-1 text-sm text-amber-700">"Fix the conditions marked in red to count the audience."</p>
            })}
            {move || count.with(|c| match c {
                Some(Err(error)) => Some(view! { <p role="alert" class="mt-1 text-sm text-red-700">{error.to_string()}</p> }.into_any()),
                Some(Ok(n)) if *n > 0 => {
                    let shown = sample.get();
                    (!shown.is_empty()).then(|| view! { <AudienceSample sample=shown/> }.into_any())
                }
                _ => None,
            })}
        </aside>
    }
}

#[component]
fn AudienceSample(sample: Vec<CustomerRow>) -> impl IntoView {
    view! {
        <h3 class="mt-4 text-xs font-semibold uppercase tracking-wide text-slate-500">"Some of them"</h3>
        <ul class="mt-1 divide-y divide-slate-100 text-sm" data-audience-sample>
            {sample.into_iter().map(|customer| view! {
                <li class="py-1.5">
                    <a class="font-medium text-indigo-700 hover:underline" href=format!("/customers/{}", customer.id)>{customer.name}</a>
                    <span class="block text-xs text-slate-500">
                        {format!("{} · {} orders · {} spent", customer.email, thousands(customer.order_count.max(0) as u64), money(customer.total_spend_cents))}
                    </span>
                </li>
            }).collect_view()}
        </ul>
    }
}
