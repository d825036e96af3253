//! `/segments/new` and `/segments/:id/edit`: a segment's name, description and rule, with its live size.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};

use crate::{
    segments::{
        api::{get_segment, save_segment},
        model::SegmentDraft,
        rules::{Combinator, Condition, Field, Rule, RuleGroup},
        view::rule_builder::{GroupNode, LiveAudience, RuleBuilder},
    },
    shared::{
        error::AppError,
        ui::{
            error_notice::ErrorNotice,
            form::{
                field_error, form_error, FieldMessage, FormAlert, INPUT_CLASS, PRIMARY_BUTTON_CLASS,
            },
            page_header::PageHeader,
        },
    },
};

/// `/segments/new`: a new segment starts with one condition to fill in.
#[component]
pub fn NewSegmentPage() -> impl IntoView {
    let mut rule = RuleGroup::new(Combinator::All);
    rule.rules
        .push(Rule::Condition(Condition::new(Field::TotalSpend)));
    let draft = SegmentDraft {
        name: String::new(),
        description: String::new(),
        rule,
    };
    view! {
        <PageHeader title="New segment" subtitle="Describe who belongs; the audience is counted as you edit."/>
        <SegmentEditor id=None draft/>
    }
}

/// `/segments/:id/edit`.
#[component]
pub fn EditSegmentPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let segment = Resource::new(id, get_segment);
    view! {
        <PageHeader title="Edit segment"/>
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading the segment…"</p> }>
            {move || Suspend::new(async move {
                match segment.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(segment) => {
                        let draft = SegmentDraft { name: segment.name, description: segment.description, rule: segment.rule };
                        view! { <SegmentEditor id=Some(segment.id) draft/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn SegmentEditor(id: Option<String>, draft: SegmentDraft) -> impl IntoView {
    let name = RwSignal::new(draft.name);
    let description = RwSignal::new(draft.description);
    let root = GroupNode::from_rule(&draft.rule);
    let rule = Memo::new(move |_| root.snapshot());
    let saving = RwSignal::new(false);
    let failure = RwSignal::new(None::<Result<(), AppError>>);
    let navigate = use_navigate();

    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let draft = SegmentDraft {
            name: name.get_untracked(),
            description: description.get_untracked(),
            rule: rule.get_untracked(),
        };
        let id = id.clone();
        let navigate = navigate.clone();
        saving.set(true);
        failure.set(None);
        spawn_local(async move {
            match save_segment(id, draft).await {
                Ok(saved) => navigate(&format!("/segments/{saved}"), NavigateOptions::default()),
                Err(error) => {
                    failure.set(Some(Err(error)));
                    saving.set(false);
                }
            }
        });
    };
    let field_problem = move |field: &'static str| field_error(failure, field);
    let other_problem = form_error(failure);

    view! {
        <form class="grid gap-6 lg:grid-cols-[1fr_18rem]" on:submit=save novalidate>
            <div class="space-y-5">
                <div class="grid gap-4 md:grid-cols-2">
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Name"</span>
                        <input
                            name="name"
                            class=INPUT_CLASS
                            aria-invalid=move || field_problem("name").get().is_some().to_string()
                            aria-describedby="name-error"
                            prop:value=move || name.get()
                            on:input=move |event| name.set(event_target_value(&event))
                        />
                        <FieldMessage id="name-error".to_owned() message=field_problem("name")/>
                    </label>
                    <label class="block">
                        <span class="text-sm font-medium text-slate-700">"Description (optional)"</span>
                        <input
                            name="description"
                            class=INPUT_CLASS
                            aria-describedby="description-error"
                            prop:value=move || description.get()
                            on:input=move |event| description.set(event_target_value(&event))
                        />
                        <FieldMessage id="description-error".to_owned() message=field_problem("description")/>
                    </label>
                </div>
                <RuleBuilder root/>
                <p class="text-sm text-slate-600" data-rule-summary>{move || rule.get().summary()}</p>
                <FormAlert message=other_problem/>
                <button type="submit" class=PRIMARY_BUTTON_CLASS disabled=move || saving.get()>
                    {move || if saving.get() { "Saving…" } else { "Save segment" }}
                </button>
            </div>
            <div class="lg:sticky lg:top-4 lg:self-start">
                <LiveAudience rule/>
            </div>
        </form>
    }
}
